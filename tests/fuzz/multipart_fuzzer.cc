// A POST /v1/files body (multipart/form-data, server::ParseMultipart): the input's first line is
// the Content-Type header's value, the rest is the body. Every part's data must lie inside the
// body (parts point into it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "server/multipart.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t eol = input.find('\n');
  if (eol == std::string_view::npos) return 0;
  std::string_view content_type = input.substr(0, eol);
  std::string_view body = input.substr(eol + 1);
  auto parts = modelrt::server::ParseMultipart(content_type, body);
  if (!parts) return 0;
  for (const modelrt::server::MultipartPart& part : *parts) {
    if (part.data.data() < body.data() ||
        part.data.data() + part.data.size() > body.data() + body.size()) {
      modelrt::fuzz::Fail("a part's data outside the body");
    }
  }
  (void)modelrt::server::FindPart(*parts, "file");
  return 0;
}
