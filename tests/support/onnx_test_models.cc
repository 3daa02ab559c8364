#include "support/onnx_test_models.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/subprocess.h"
#include "support/llama_test_models.h"

namespace modelrt::testing {

OnnxTestFiles OnnxTestModel(llama::TestModelSpec spec, bool token_types) {
  static std::mutex mu;
  static std::map<std::string, OnnxTestFiles> made;
  std::lock_guard<std::mutex> lock(mu);
  const std::string name = std::string(llama::ToString(spec.kind)) + "-e" +
                           std::to_string(spec.embd) + "-l" + std::to_string(spec.layers) + "-h" +
                           std::to_string(spec.heads) + "-f" + std::to_string(spec.ff) + "-c" +
                           std::to_string(spec.ctx) + "-p" + std::to_string(spec.pooling) + "-s" +
                           std::to_string(spec.seed) + (token_types ? "" : "-nt");
  if (auto it = made.find(name); it != made.end()) return it->second;
  OnnxTestFiles files{TestTempDir() + "/" + name + ".gguf", TestTempDir() + "/" + name + "-onnx"};
  spec.path = files.gguf;
  if (Status status = llama::WriteTestModel(spec); !status.ok()) {
    std::fprintf(stderr, "cannot write %s: %s\n", files.gguf.c_str(), status.ToString().c_str());
    std::abort();
  }
  // Debian's python, which has python3-onnx (a python3 earlier in PATH may not).
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(MODELRT_SOURCE_DIR) + "/tools/onnx_test_model.py",
                                   files.gguf, files.dir};
  if (!token_types) argv.push_back("--no-token-types");
  auto run = RunCommand(argv, std::chrono::minutes(5));
  if (!run || run->exit_code != 0) {
    std::fprintf(stderr, "tools/onnx_test_model.py failed for %s: %s%s\n", files.gguf.c_str(),
                 run ? run->err.c_str() : run.error().ToString().c_str(), run ? run->out.c_str() : "");
    std::abort();
  }
  made[name] = files;
  return files;
}

}  // namespace modelrt::testing
