// Test support: runs llama.cpp's own tools (built by scripts/setup into LLAMA_BIN_DIR) to compare
// our engines against them.
//
//   #include "support/llama_tools.h"
//   if (!HaveLlamaTool("llama-embedding")) GTEST_SKIP();
//   std::string json = RunLlamaEmbedding("-m model.gguf -p 'hello' --embd-output-format json");
//
// Thread-safety: thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace modelrt::testing {

// Whether LLAMA_BIN_DIR/<name> exists.
bool HaveLlamaTool(const std::string& name);

// Runs llama-embedding with `args` (plus "-t 1") and returns its stdout, which must be JSON
// output (--embd-output-format json). llama.cpp's logger thread may lose the tail of the output
// at exit (it leaks its singleton on purpose, llama.cpp issue 22142), so a run whose JSON is cut
// short is retried a few times. Empty when no run completed.
std::string RunLlamaEmbedding(const std::string& args);

// A real llama-server from the pinned llama.cpp, on a free loopback port, for the remote
// providers' tests (it speaks OpenAI's API). Started with `-t 1 --no-webui` plus `args`
// (e.g. {"--embeddings"}); waits until GET /health answers 200. Killed when destroyed.
//
//   auto server = LlamaServer::Start(model_path, {"--embeddings"}, TestTempDir() + "/ls.log");
//   if (!server) GTEST_SKIP() << "llama-server not built";
//   std::string base = server->url() + "/v1";
class LlamaServer {
 public:
  // nullptr when llama-server is not built or did not become healthy within 60 s.
  static std::unique_ptr<LlamaServer> Start(const std::string& model,
                                            const std::vector<std::string>& args,
                                            const std::string& log_path);
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return process_.Log(); }

 private:
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace modelrt::testing
