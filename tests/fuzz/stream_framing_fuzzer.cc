// The framing of upstream streams: server-sent events (net::SseParser; OpenAI, Anthropic, Gemini,
// Cohere) and newline-delimited JSON (net::LineSplitter; Ollama), over arbitrary bytes cut into
// arbitrary chunks. Byte 0 picks the chunk sizes (fuzz::Chunks); the rest is the stream.
//
// Beyond "no crash": the same bytes give the same events (or lines) and the same end whether they
// arrive at once or in pieces. The size limit is checked on what is buffered at the end of a
// chunk, so where (and whether) it trips depends on the cutting: when a run fails, the events
// before the failure must be the first events of the other run.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "net/line_splitter.h"
#include "net/sse_parser.h"

namespace {

using modelrt::fuzz::Fail;

constexpr size_t kLimit = 1024;  // small, so that inputs of libFuzzer's sizes reach it

struct SseRun {
  std::vector<std::string> events;  // event \x1f data \x1f id \x1f retry
  bool failed = false;
  bool truncated = false;
  bool operator==(const SseRun&) const = default;
};

SseRun RunSse(const std::vector<std::string_view>& chunks) {
  modelrt::net::SseParser parser(kLimit);
  SseRun run;
  for (std::string_view chunk : chunks) {
    modelrt::Status s = parser.Feed(chunk, [&](const modelrt::net::SseEvent& e) {
      run.events.push_back(e.event + '\x1f' + e.data + '\x1f' + e.id + '\x1f' +
                           (e.retry_ms ? std::to_string(*e.retry_ms) : "-"));
    });
    if (!s.ok()) {
      run.failed = true;
      return run;
    }
  }
  run.truncated = parser.Finish();
  return run;
}

struct LineRun {
  std::vector<std::string> lines;
  bool failed = false;
  std::optional<std::string> last;
  bool operator==(const LineRun&) const = default;
};

LineRun RunLines(const std::vector<std::string_view>& chunks) {
  modelrt::net::LineSplitter splitter(kLimit);
  LineRun run;
  for (std::string_view chunk : chunks) {
    modelrt::Status s = splitter.Feed(chunk, [&](std::string_view line) {
      if (line.find('\n') != std::string_view::npos) Fail("a line with a newline in it");
      run.lines.emplace_back(line);
    });
    if (!s.ok()) {
      run.failed = true;
      return run;
    }
  }
  run.last = splitter.Finish();
  return run;
}

bool IsPrefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<std::string_view> whole = modelrt::fuzz::Chunks(stream, 0);
  const std::vector<std::string_view> pieces = modelrt::fuzz::Chunks(stream, seed | 1);

  SseRun sse_whole = RunSse(whole);
  SseRun sse_pieces = RunSse(pieces);
  if (!sse_whole.failed && !sse_pieces.failed) {
    if (!(sse_whole == sse_pieces)) Fail("SSE: the same bytes in other chunks gave other events");
  } else if (!IsPrefix(sse_whole.events, sse_pieces.events) &&
             !IsPrefix(sse_pieces.events, sse_whole.events)) {
    Fail("SSE: the events before a failure differ from the other run's");
  }

  LineRun lines_whole = RunLines(whole);
  LineRun lines_pieces = RunLines(pieces);
  if (!lines_whole.failed && !lines_pieces.failed) {
    if (!(lines_whole == lines_pieces)) Fail("NDJSON: the same bytes in other chunks gave other lines");
  } else if (!IsPrefix(lines_whole.lines, lines_pieces.lines) &&
             !IsPrefix(lines_pieces.lines, lines_whole.lines)) {
    Fail("NDJSON: the lines before a failure differ from the other run's");
  }
  return 0;
}
