// A batch's input file (OpenAI's Batch API JSONL), checked as a batch job checks it before it
// runs (jobs::CheckBatchInput, for each endpoint a batch may target). The input is written to a
// scratch file, as CheckBatchInput reads one. Seeds: real batch files (corpus/batch_jsonl/).
//
// Beyond "no crash": the counts add up (never more errors reported than the 1000 kept, never more
// requests counted than the limit lets through) and each model is reported once.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "jobs/batch_run.h"

namespace {

std::string* input_path = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  std::string tmpl = (std::filesystem::temp_directory_path() / "batch_jsonl_fuzzer.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  input_path = new std::string(tmpl + "/input.jsonl");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modelrt::fuzz::Fail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(*input_path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  modelrt::jobs::BatchLimits limits;
  limits.max_lines = 64;
  limits.max_bytes = 1 << 20;
  for (const char* endpoint : {"/v1/embeddings", "/v1/chat/completions", "/v1/completions",
                               "/v1/rerank", "/v1/nope"}) {
    auto check = modelrt::jobs::CheckBatchInput(*input_path, endpoint, limits);
    if (!check) continue;
    if (check->errors.size() > 1000) Fail("more than 1000 errors kept");
    if (check->requests > limits.max_lines + 1) Fail("counted past max_lines");
    std::set<std::string> distinct(check->models.begin(), check->models.end());
    if (distinct.size() != check->models.size()) Fail("a model reported twice");
    if (static_cast<int64_t>(check->models.size()) > check->requests) {
      Fail("more models than requests");
    }
  }
  return 0;
}
