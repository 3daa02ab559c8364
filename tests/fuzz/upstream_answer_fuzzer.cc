// A whole (not streamed) upstream answer, read by each wire format as the remote provider reads
// it: ReadEmbed, ReadRerank and ReadChat over the body; and an error answer, as the upstream
// caller reads it (net::ParseUpstreamError with the Retry-After family of headers).
// Byte 0 picks the wire format (wire_formats.h), byte 1 how many inputs or documents the request
// had (1..8); the rest is the body. The body's first line is also tried as each retry header.
//
// Beyond "no crash": an answer that reads has one embedding per input, one score per document, and
// a ranking that only names documents that exist.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "net/retry_hints.h"
#include "net/upstream_error.h"
#include "wire_formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  // A deeply nested answer, in each format (an upstream is not to be trusted with our stack).
  const std::string deep = R"({"data": )" + modelrt::fuzz::Nested(60000) + "}";
  for (uint8_t format = 0; format < modelrt::fuzz::Formats().size(); ++format) {
    std::string input = std::string(1, static_cast<char>(format)) + '\0' + deep;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modelrt::fuzz::Fail;
  if (size < 2) return 0;
  const modelrt::remote::WireFormat& format = modelrt::fuzz::Format(data[0]);
  const size_t count = 1 + data[1] % 8;
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  if (auto embed = format.ReadEmbed(body, count)) {
    if (embed->embeddings.size() != count) Fail("ReadEmbed: not one embedding per input");
    // Embeddings of several sizes in one answer are read as they come (no format checks that,
    // and nothing downstream needs it): not an invariant here.
  }
  if (auto rerank = format.ReadRerank(body, count)) {
    if (rerank->scores.size() != count) Fail("ReadRerank: not one score per document");
    for (const auto& r : rerank->ranked) {
      if (r.index >= count) Fail("ReadRerank: a ranking names a document that does not exist");
    }
  }
  if (auto chat = format.ReadChat(body)) (void)chat->text.size();

  const auto now = std::chrono::system_clock::now();
  std::string_view line = body.substr(0, body.find('\n'));
  for (int status : {400, 401, 429, 500, 503, 529}) {
    modelrt::net::UpstreamError e = modelrt::net::ParseUpstreamError(
        status, body,
        [&](std::string_view name) -> std::optional<std::string_view> {
          if (name == "retry-after" || name == "Retry-After" || name == "retry-after-ms") return line;
          return std::nullopt;
        },
        now);
    if (e.message.size() > 520) Fail("ParseUpstreamError: a message over its 500-byte cut");
    if (e.retry_after && e.retry_after->count() < 0) Fail("ParseUpstreamError: a negative wait");
  }
  if (auto wait = modelrt::net::ParseRetryAfter(line, now); wait && wait->count() < 0) {
    Fail("ParseRetryAfter: a negative wait");
  }
  if (auto wait = modelrt::net::ParseRetryAfterMs(line); wait && wait->count() < 0) {
    Fail("ParseRetryAfterMs: a negative wait");
  }
  (void)modelrt::net::ParseProtoDuration(line);
  (void)modelrt::net::ParseHttpDate(line);
  return 0;
}
