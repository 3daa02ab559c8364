// Arbitrary bytes as an API request body, through every request parser of the inference API
// (api_parsers.h): the bytes are parsed as JSON as the handlers do (ParseJsonObject), then each
// door's parser reads the object. Seeds: real bodies of each door (corpus/api_body/).
#include <cstddef>
#include <cstdint>
#include <string>

#include "api_parsers.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  // Deeply nested values where each door copies or dumps them (stop, tools, format, input...).
  const std::string deep = modelrt::fuzz::Nested(60000);
  for (const char* key : {"stop", "tools", "format", "input", "options", "metadata", "documents",
                          "response_format", "stop_sequences", "messages", "system"}) {
    modelrt::fuzz::RunApiParsers(R"({"model": "chat", "messages": [{"role": "user", "content": "x"}], ")" +
                                 std::string(key) + "\": " + deep + "}");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  modelrt::fuzz::RunApiParsers(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
