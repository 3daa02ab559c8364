// What a generation answered later (chat completions, Anthropic messages, Ollama chat) writes
// its stream through: the response begun once with the API's headers, writes that stop for good
// once the client is gone, and text held back until its last UTF-8 character is complete (a
// token may end inside one).
//
//   GenerationWriter out(ctx, SseHeaders());
//   std::string text = out.TakeText(piece);          // "" while a character is unfinished
//   if (!text.empty() && out.Begin(first_event)) out.Write(Format(text));
//
// Thread-safety: one generation's callbacks, one at a time (the engine's thread).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "server/completion_format.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

// Text held back until its last UTF-8 character is complete (a token may end inside one).
class Utf8Holdback {
 public:
  // The held text plus `piece`, up to its last complete UTF-8 character, taken out of the hold.
  std::string Take(std::string_view piece) {
    held_.append(piece);
    const size_t ready = CompleteUtf8Prefix(held_);
    std::string text = held_.substr(0, ready);
    held_.erase(0, ready);
    return text;
  }
  // Whatever is still held (at the end: an unfinished character is written as it is).
  std::string TakeRest() { return std::exchange(held_, std::string()); }

 private:
  std::string held_;
};

class GenerationWriter {
 public:
  GenerationWriter(RequestContext& ctx, HttpHeaders headers)
      : ctx_(ctx), headers_(std::move(headers)) {}

  // Utf8Holdback's, for the one text this response streams.
  std::string TakeText(std::string_view piece) { return held_.Take(piece); }
  std::string TakeRest() { return held_.TakeRest(); }

  // Sends the status and headers once, then the API's opening event (`first()`, made only
  // then; may be empty). False once the client is gone.
  template <typename First>
  bool Begin(const First& first) {
    if (!begun_) {
      begun_ = true;
      if (!ctx_.stream->Begin(200, headers_)) gone_ = true;
      Write(first());
    }
    return !gone_;
  }
  bool Begin() {
    return Begin([] { return std::string(); });
  }
  bool Write(std::string event) {
    if (!gone_ && !event.empty() && !ctx_.stream->Write(std::move(event))) gone_ = true;
    return !gone_;
  }

  bool begun() const { return begun_; }
  bool gone() const { return gone_; }

 private:
  RequestContext& ctx_;  // alive until the request is finished (it holds the session)
  const HttpHeaders headers_;
  Utf8Holdback held_;
  bool begun_ = false;
  bool gone_ = false;
};

}  // namespace modelrt::server
