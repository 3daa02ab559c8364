// LineSplitter: newline-delimited JSON (Ollama's streams) read in chunks as they arrive: calls
// back once per complete line, without its "\n" or "\r\n"; blank lines are skipped.
//
//   LineSplitter lines;
//   MODELRT_RETURN_IF_ERROR(lines.Feed(chunk, [&](std::string_view line) { ... }));
//   if (auto last = lines.Finish()) { ... }  // a last line without "\n" still counts
//
// Thread-safety: not thread-safe; one splitter per stream.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::net {

class LineSplitter {
 public:
  // A line longer than this fails Feed with ResourceExhausted.
  explicit LineSplitter(size_t max_line_bytes = size_t{8} << 20)
      : max_line_bytes_(max_line_bytes) {}

  Status Feed(std::string_view chunk, const std::function<void(std::string_view)>& on_line);
  // The rest of the stream after its last "\n", if it is not blank.
  std::optional<std::string> Finish();

 private:
  const size_t max_line_bytes_;
  std::string partial_;
};

}  // namespace modelrt::net
