// SseChatStream: what the chat streams that arrive as server-sent events share (OpenAI's,
// Anthropic's, Cohere's): the SSE parser, the answer being built, and the rule that a stream that
// stops before its last event is truncated. Each wire format reads its own events in OnEvent and
// passes text to Emit.
//
// Thread-safety: one stream, one thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "net/sse_parser.h"
#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class SseChatStream : public ChatStream {
 public:
  // `last_event` names the event that ends the stream, for the truncation error.
  explicit SseChatStream(std::string last_event) : last_event_(std::move(last_event)) {}

  Status Feed(std::string_view chunk,
              const std::function<bool(std::string_view)>& on_piece) override {
    Status status;
    MODELRT_RETURN_IF_ERROR(parser_.Feed(chunk, [&](const net::SseEvent& event) {
      if (!status.ok() || ended_) return;
      status = OnEvent(event, on_piece);
    }));
    return status;
  }
  bool ended() const override { return ended_; }
  Result<GenerateResult> Finish() override {
    if (!ended_) return UpstreamFailedError("upstream stream ended before " + last_event_);
    return result_;
  }

 protected:
  virtual Status OnEvent(const net::SseEvent& event,
                         const std::function<bool(std::string_view)>& on_piece) = 0;

  // Adds a piece of text and hands it on. False when the reader stopped: the answer is then
  // cancelled and the stream ended.
  bool Emit(const std::string& piece, const std::function<bool(std::string_view)>& on_piece) {
    if (piece.empty()) return true;
    result_.text += piece;
    if (on_piece(piece)) return true;
    result_.finish_reason = FinishReason::kCancelled;
    ended_ = true;
    return false;
  }

  GenerateResult result_;
  bool ended_ = false;

 private:
  net::SseParser parser_;
  const std::string last_event_;
};

}  // namespace modelrt::remote
