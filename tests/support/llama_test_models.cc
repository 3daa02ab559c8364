#include "support/llama_test_models.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <tuple>

#include <unistd.h>

namespace modelrt::testing {
namespace {

struct TempDirHolder {
  std::string path;
  TempDirHolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "modelrt-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    path = pattern;
  }
  ~TempDirHolder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::string& TestTempDir() {
  static TempDirHolder holder;
  return holder.path;
}

std::string TestModel(llama::TestModelKind kind, int pooling, uint32_t seed) {
  static std::mutex mu;
  static std::map<std::tuple<int, int, uint32_t>, std::string> made;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(static_cast<int>(kind), pooling, seed);
  if (auto it = made.find(key); it != made.end()) return it->second;
  llama::TestModelSpec spec;
  spec.kind = kind;
  spec.pooling = pooling;
  spec.seed = seed;
  spec.path = TestTempDir() + "/" + std::string(llama::ToString(kind)) + "-p" +
              std::to_string(pooling) + "-s" + std::to_string(seed) + ".gguf";
  Status status = llama::WriteTestModel(spec);
  if (!status.ok()) {
    std::fprintf(stderr, "cannot write test model %s: %s\n", spec.path.c_str(),
                 status.ToString().c_str());
    std::abort();
  }
  made[key] = spec.path;
  return spec.path;
}

std::string TestChatModel(const std::string& template_name) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = made.find(template_name); it != made.end()) return it->second;
  const std::string source = std::string(LLAMA_VOCAB_DIR) + "/templates/" + template_name + ".jinja";
  std::ifstream in(source, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "no chat template %s\n", source.c_str());
    std::abort();
  }
  llama::TestModelSpec spec;
  spec.kind = llama::TestModelKind::kLlama;
  spec.ctx = 4096;
  spec.chat_template.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  spec.path = TestTempDir() + "/chat-" + template_name + ".gguf";
  Status status = llama::WriteTestModel(spec);
  if (!status.ok()) {
    std::fprintf(stderr, "cannot write test model %s: %s\n", spec.path.c_str(), status.ToString().c_str());
    std::abort();
  }
  made[template_name] = spec.path;
  return spec.path;
}

}  // namespace modelrt::testing
