#include "providers/llama/reply_shaper.h"

#include "core/json.h"
#include "core/tool_call_id.h"

namespace modelrt::llama {

std::string ReplyShaper::Push(std::string_view piece) {
  raw_.append(piece);
  ParsedReply partial = parser_->Parse(raw_, /*partial=*/true);
  if (partial.content.size() <= shown_.size() ||
      partial.content.compare(0, shown_.size(), shown_) != 0) {
    return "";
  }
  std::string added = partial.content.substr(shown_.size());
  shown_ = std::move(partial.content);
  return added;
}

ParsedReply ReplyShaper::Finish(bool cut_short) {
  ParsedReply reply = parser_->Parse(raw_, /*partial=*/false);
  if (cut_short && reply.tool_calls.empty()) {
    // The whole reply does not parse when a call was cut off; the partial parse keeps the calls
    // that were finished (and the cut one, with arguments that are not JSON yet).
    ParsedReply partial = parser_->Parse(raw_, /*partial=*/true);
    if (!partial.tool_calls.empty()) reply = std::move(partial);
  }
  for (ToolCall& call : reply.tool_calls) {
    if (call.arguments.empty()) call.arguments = "{}";  // a function without parameters
  }
  std::erase_if(reply.tool_calls, [&](const ToolCall& call) {
    return call.name.empty() || !Json::accept(call.arguments);
  });
  if (!parallel_ && reply.tool_calls.size() > 1) reply.tool_calls.resize(1);
  for (ToolCall& call : reply.tool_calls) {
    if (call.id.empty()) call.id = NewToolCallId();
  }
  return reply;
}

}  // namespace modelrt::llama
