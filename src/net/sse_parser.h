// SseParser: the text/event-stream format (WHATWG HTML, "Server-sent events", 9.2.6), read in
// chunks as they arrive from an upstream. OpenAI, Anthropic, Gemini (alt=sse), Mistral and
// Cohere stream in it; each wire format reads its own event names and data.
//
//   SseParser parser;
//   MODELRT_RETURN_IF_ERROR(parser.Feed(chunk, [&](const SseEvent& e) { ... e.event, e.data }));
//   ...
//   if (parser.Finish()) { /* the stream ended inside an event: truncated */ }
//
// Lines end in CRLF, LF or CR (a CR at the end of a chunk waits for the next one); a leading
// UTF-8 BOM is skipped; ':' lines are comments (keep-alives); data lines are joined with '\n';
// an event is dispatched at a blank line and only when it has data; `id` persists across events
// as the spec's last event id. Thread-safety: not thread-safe; one parser per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::net {

struct SseEvent {
  std::string event = "message";    // the `event:` field, else "message"
  std::string data;                 // `data:` lines joined with '\n'
  std::string id;                   // the last `id:` seen on the stream so far
  std::optional<int64_t> retry_ms;  // a `retry:` field in this event
};

class SseParser {
 public:
  // An event (its data plus the line being read) larger than this fails Feed with
  // ResourceExhausted: an upstream that never ends an event must not grow memory without bound.
  explicit SseParser(size_t max_event_bytes = size_t{8} << 20)
      : max_event_bytes_(max_event_bytes) {}

  // Parses `chunk`, calling `on_event` for each event it completes. After an error the parser
  // stays failed (the stream is unusable).
  Status Feed(std::string_view chunk, const std::function<void(const SseEvent&)>& on_event);

  // The stream ended. True when it ended inside an event (data read, no blank line yet): the
  // spec drops such an event, and a caller reports a truncated stream.
  bool Finish();

 private:
  void ProcessLine(std::string_view line, const std::function<void(const SseEvent&)>& on_event);
  void Dispatch(const std::function<void(const SseEvent&)>& on_event);

  const size_t max_event_bytes_;
  std::string line_;       // a line not ended yet
  bool after_cr_ = false;  // the last byte seen was a CR (a following LF belongs to it)
  bool started_ = false;   // past the optional BOM
  bool failed_ = false;
  bool pending_ = false;  // a field was read since the last dispatch
  SseEvent event_;        // being built
  std::string last_id_;
};

}  // namespace modelrt::net
