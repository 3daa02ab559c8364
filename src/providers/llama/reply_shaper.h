// Turns a reply as the model writes it (tool-call syntax, thinking tags and all) into what the
// caller sees, with the chat template's parser (JinjaChat): content as it grows while the reply
// streams, then content, reasoning and tool calls once it is done.
//
//   ReplyShaper shaper(rendering.parser, request.parallel_tool_calls);
//   on_piece(shaper.Push(piece));              // new content only; "" while inside a call
//   ParsedReply reply = shaper.Finish(/*cut_short=*/finish == FinishReason::kLength);
//
// Thread-safety: not thread-safe; one generation's pieces arrive in order on one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "providers/llama/jinja_chat.h"

namespace modelrt::llama {

class ReplyShaper {
 public:
  ReplyShaper(std::shared_ptr<const ReplyParser> parser, bool parallel_tool_calls)
      : parser_(std::move(parser)), parallel_(parallel_tool_calls) {}

  // Content added by `piece`. Content once given is never taken back: when the parser later
  // reads text differently (a tag that only now is complete), nothing more is given until it
  // grows past what was.
  std::string Push(std::string_view piece);

  // The whole reply. `cut_short` (max_tokens, the context): a call the model did not finish is
  // dropped, the finished ones kept. Without parallel calls only the first is kept. Calls
  // without an id get a fresh "call_<24 hex>".
  ParsedReply Finish(bool cut_short);

 private:
  std::shared_ptr<const ReplyParser> parser_;
  const bool parallel_;
  std::string raw_;
  std::string shown_;  // content given out so far
};

}  // namespace modelrt::llama
