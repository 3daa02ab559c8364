#include "net/sse_parser.h"

namespace modelrt::net {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Status SseParser::Feed(std::string_view chunk,
                       const std::function<void(const SseEvent&)>& on_event) {
  if (failed_) return FailedPreconditionError("event stream: already failed");
  if (!started_) {
    // The BOM may itself arrive split across chunks: wait until three bytes are known.
    line_.append(chunk);
    if (line_.size() < kBom.size() && kBom.starts_with(line_)) return OkStatus();
    started_ = true;
    std::string head = std::move(line_);
    line_.clear();
    std::string_view rest = head;
    if (rest.starts_with(kBom)) rest.remove_prefix(kBom.size());
    return Feed(rest, on_event);
  }
  size_t start = 0;
  for (size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {  // the LF of a CRLF already ended its line
        start = i + 1;
        continue;
      }
    }
    if (c != '\r' && c != '\n') continue;
    line_.append(chunk.substr(start, i - start));
    ProcessLine(line_, on_event);
    line_.clear();
    after_cr_ = c == '\r';
    start = i + 1;
  }
  line_.append(chunk.substr(start));
  if (line_.size() + event_.data.size() > max_event_bytes_) {
    failed_ = true;
    return ResourceExhaustedError("event stream: an event exceeds " +
                                  std::to_string(max_event_bytes_) + " bytes");
  }
  return OkStatus();
}

bool SseParser::Finish() {
  // A last line without its end is part of an unfinished event as well.
  const bool truncated = pending_ || !line_.empty();
  line_.clear();
  pending_ = false;
  event_ = SseEvent{};
  return truncated;
}

void SseParser::ProcessLine(std::string_view line,
                            const std::function<void(const SseEvent&)>& on_event) {
  if (line.empty()) {
    Dispatch(on_event);
    return;
  }
  if (line.front() == ':') return;  // a comment
  std::string_view field = line;
  std::string_view value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    event_.data.append(value);
    event_.data.push_back('\n');
    pending_ = true;
  } else if (field == "event") {
    event_.event = std::string(value);
    pending_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    if (AllDigits(value)) event_.retry_ms = std::stoll(std::string(value));
  }
  // Other fields are ignored, as the spec says.
}

void SseParser::Dispatch(const std::function<void(const SseEvent&)>& on_event) {
  pending_ = false;
  if (event_.data.empty()) {  // nothing to dispatch: only the event type is reset
    event_ = SseEvent{};
    return;
  }
  event_.data.pop_back();  // the '\n' after the last data line
  event_.id = last_id_;
  SseEvent done = std::move(event_);
  event_ = SseEvent{};
  on_event(done);
}

}  // namespace modelrt::net
