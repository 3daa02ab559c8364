#include "net/line_splitter.h"

namespace modelrt::net {

namespace {

std::string_view TrimLineEnd(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

Status LineSplitter::Feed(std::string_view chunk,
                          const std::function<void(std::string_view)>& on_line) {
  size_t start = 0;
  for (size_t end = chunk.find('\n'); end != std::string_view::npos;
       end = chunk.find('\n', start)) {
    std::string_view piece = chunk.substr(start, end - start);
    start = end + 1;
    if (!partial_.empty()) {  // the line began in an earlier chunk
      partial_.append(piece);
      std::string line = std::move(partial_);
      partial_.clear();
      if (!IsBlank(line)) on_line(TrimLineEnd(line));
    } else if (!IsBlank(piece)) {
      on_line(TrimLineEnd(piece));
    }
  }
  partial_.append(chunk.substr(start));
  if (partial_.size() > max_line_bytes_) {
    return ResourceExhaustedError("stream: a line exceeds " + std::to_string(max_line_bytes_) +
                                  " bytes");
  }
  return OkStatus();
}

std::optional<std::string> LineSplitter::Finish() {
  std::string rest = std::move(partial_);
  partial_.clear();
  if (IsBlank(rest)) return std::nullopt;
  return std::string(TrimLineEnd(rest));
}

}  // namespace modelrt::net
