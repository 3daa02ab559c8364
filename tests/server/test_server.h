// Test fixture: a real HttpServer on a loopback port chosen by the kernel, over a real runtime
// with real llama.cpp models — generated BERT embedder and reranker (tests/support) and
// stories260K for generation. Small options (ctx 256, parallel 4) keep it fast.
//
//   TestServer server;                      // or TestServer server(config) after TestConfig()
//   HttpResult r = HttpCall(server.port(), "GET", "/v1/models");
//
// Thread-safety: port() from any thread; construct and destroy on one thread.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "catalog/options_json.h"
#include "modelrt/catalog.h"
#include "modelrt/runtime.h"
#include "server/http_server.h"
#include "support/llama_test_models.h"

namespace modelrt::testing {

inline std::string StoriesPath() { return std::string(MODELRT_SOURCE_DIR) + "/models/stories260K.gguf"; }

// The catalog: embed, rerank, chat (parallel 4), chat1 (parallel 1), profile storyteller.
inline Config TestConfig() {
  Config c;
  c.source = "<test>";
  c.server.host = "127.0.0.1";
  c.server.port = 0;
  // A variable nobody sets, so a key in the developer's environment cannot close the server.
  c.server.api_keys_env = "MODELRT_SERVER_TEST_UNSET_KEYS";
  c.server.threads = 2;
  c.server.max_body_bytes = 256 << 10;
  c.server.max_batch_inputs = 16;
  c.server.max_rerank_documents = 16;
  c.server.max_tokens_limit = 64;
  c.server.queue_capacity = 64;
  c.server.drain_grace_s = 5;
  c.providers.push_back({.id = "local", .type = "llama", .options = MakeOptions({{"threads", 1}})});
  auto spec = [](std::string alias, Task task, std::string path, int parallel) {
    ModelSpec s;
    s.alias = std::move(alias);
    s.task = task;
    s.provider = "local";
    s.model = std::move(path);
    s.options = MakeOptions({{"ctx", 256}, {"parallel", parallel}});
    s.origin = "<test>: " + s.alias;
    return s;
  };
  c.models.push_back(spec("embed", Task::kEmbed, TestModel(llama::TestModelKind::kBertEmbed), 4));
  c.models.push_back(spec("rerank", Task::kRerank, TestModel(llama::TestModelKind::kBertRerank), 4));
  c.models.push_back(spec("chat", Task::kGenerate, StoriesPath(), 4));
  c.models.push_back(spec("chat1", Task::kGenerate, StoriesPath(), 1));
  ProfileSpec profile;
  profile.name = "storyteller";
  profile.model = "chat";
  profile.system = "You tell short stories about a cat.";
  profile.params = MakeOptions({{"temperature", 0}, {"max_tokens", 8}});
  c.profiles.push_back(profile);
  return c;
}

// TestConfig plus `tools`: a random llama carrying Qwen 2.5's chat template (tool support),
// ctx 2048 x 2, and room for a tool call's tokens.
inline Config ToolsConfig() {
  Config c = TestConfig();
  c.server.max_tokens_limit = 512;
  ModelSpec tools;
  tools.alias = "tools";
  tools.task = Task::kGenerate;
  tools.provider = "local";
  tools.model = TestChatModel("Qwen-Qwen2.5-7B-Instruct");
  tools.options = MakeOptions({{"ctx", 2048}, {"parallel", 2}});
  tools.origin = "<test>: tools";
  c.models.push_back(tools);
  return c;
}

class TestServer {
 public:
  explicit TestServer(const Config& config = TestConfig()) {
    auto runtime = ModelRuntime::Builder().SetConfig(config).Build();
    if (!runtime) Die("runtime", runtime.error());
    runtime_ = std::move(runtime).value();
    auto server = server::HttpServer::Create(*runtime_, config);
    if (!server) Die("server", server.error());
    server_ = std::move(server).value();
  }
  // Serves a runtime the test built itself (e.g. over a fault-injecting provider).
  TestServer(std::unique_ptr<ModelRuntime> runtime, const Config& config)
      : runtime_(std::move(runtime)) {
    auto server = server::HttpServer::Create(*runtime_, config);
    if (!server) Die("server", server.error());
    server_ = std::move(server).value();
  }
  ~TestServer() {
    server_->Shutdown(std::chrono::seconds(5));
    server_.reset();
    runtime_.reset();
  }

  int port() const { return server_->port(); }
  ModelRuntime& runtime() { return *runtime_; }
  server::HttpServer& server() { return *server_; }

 private:
  [[noreturn]] static void Die(const char* what, const Status& status) {
    std::fprintf(stderr, "TestServer: cannot start the %s: %s\n", what, status.ToString().c_str());
    std::abort();
  }
  std::unique_ptr<ModelRuntime> runtime_;
  std::unique_ptr<server::HttpServer> server_;
};

}  // namespace modelrt::testing
