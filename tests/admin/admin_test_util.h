// Test fixture for the admin API: a real ControlPlane (registry + runtime built from it) and a real
// HttpServer on a loopback port, over the server tests' catalog of real llama.cpp models
// (generated BERT embedder and reranker, stories260K). The admin key comes from a key file.
//
//   AdminServer server;                         // admin key kAdminKey, journal in a temp dir
//   HttpResult r = AdminCall(server.port(), "GET", "/admin/models");
//
// Thread-safety: construct and destroy on one thread; port() from any.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "control/control_plane.h"
#include "core/json.h"
#include "server/http_server.h"
#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {

inline constexpr const char* kAdminKey = "admin-test-key-5c1e";

// A fresh directory under the process's temp dir.
inline std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string dir = TestTempDir() + "/" + name + "-" + std::to_string(counter.fetch_add(1));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The server tests' catalog with the admin key in a file (no env var, so the developer's
// environment cannot change the outcome).
inline Config AdminConfig(const std::string& key = kAdminKey) {
  Config config = TestConfig();
  config.server.admin_key_env = "MODELRT_ADMIN_TEST_UNSET_KEY";
  if (!key.empty()) {
    config.server.admin_key_file = FreshDir("admin-key") + "/admin.key";
    std::ofstream(config.server.admin_key_file) << "\n" << key << "\n";
  }
  return config;
}

struct AdminServerOptions {
  Config config = AdminConfig();
  std::string state_path;   // "" = a fresh journal in a temp dir
  std::string config_path;  // "" = no file to re-read
};

class AdminServer {
 public:
  explicit AdminServer(AdminServerOptions options = {}) {
    if (options.state_path.empty()) options.state_path = FreshDir("state") + "/registry.jsonl";
    state_path_ = options.state_path;
    auto control = control::ControlPlane::Create({.config = options.config,
                                                  .config_path = options.config_path,
                                                  .state_path = options.state_path});
    if (!control) Die("control plane", control.error());
    control_ = std::move(control).value();
    auto server = server::HttpServer::Create(*control_, options.config);
    if (!server) Die("server", server.error());
    server_ = std::move(server).value();
  }
  ~AdminServer() { Stop(); }

  // Stops serving and closes the registry (its journal lock too), e.g. before a restart.
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::seconds(5));
    server_.reset();
    control_.reset();
  }

  int port() const { return server_->port(); }
  ModelRuntime& runtime() { return control_->runtime(); }
  control::ControlPlane& control() { return *control_; }
  const std::string& state_path() const { return state_path_; }

 private:
  [[noreturn]] static void Die(const char* what, const Status& status) {
    std::fprintf(stderr, "AdminServer: cannot start the %s: %s\n", what,
                 status.ToString().c_str());
    std::abort();
  }
  std::string state_path_;
  std::unique_ptr<control::ControlPlane> control_;
  std::unique_ptr<server::HttpServer> server_;
};

inline Headers Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

// An admin call with the admin key.
inline HttpResult AdminCall(int port, const std::string& method, const std::string& target,
                            const std::string& body = "", const std::string& key = kAdminKey) {
  return HttpCall(port, method, target, body, key.empty() ? Headers{} : Bearer(key));
}

inline HttpResult AdminJson(int port, const std::string& method, const std::string& target,
                            const Json& body) {
  return AdminCall(port, method, target, body.dump());
}

// A MODEL entry of GET /admin/models by alias; null when absent.
inline Json FindModel(const Json& list, const std::string& alias) {
  for (const Json& model : list["data"]) {
    if (model["alias"] == alias) return model;
  }
  return nullptr;
}

// An alias spec in the catalog's JSON form, for POST /admin/models.
inline Json EmbedSpecJson(const std::string& alias, uint32_t seed = 42) {
  return {{"alias", alias},
          {"task", "embed"},
          {"provider", "local"},
          {"model", TestModel(llama::TestModelKind::kBertEmbed, -1, seed)},
          {"options", {{"ctx", 256}, {"parallel", 2}}}};
}

inline HttpResult Embed(int port, const std::string& model, const std::string& text = "hello") {
  return PostJson(port, "/v1/embeddings", {{"model", model}, {"input", text}});
}

}  // namespace modelrt::testing
