// SIGHUP on a real `modelrt serve` process: write a config, start the server, edit the config
// (add one alias, remove another), send SIGHUP, poll /admin/models; then the same through
// POST /admin/config/reload. Also: the admin key never reaches the log, and a second server on the
// same data directory refuses to start.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "admin_test_util.h"
#include "core/json.h"
#include "support/child_process.h"

namespace modelrt::testing {
namespace {

constexpr const char* kProcessKey = "sighup-admin-key-77f0";

void WriteConfig(const std::string& path, const std::vector<std::string>& chats) {
  Json models = Json::array();
  models.push_back({{"alias", "embed"},
                    {"task", "embed"},
                    {"model", TestModel(llama::TestModelKind::kBertEmbed)},
                    {"options", {{"ctx", 256}}}});
  for (const std::string& alias : chats) {
    models.push_back({{"alias", alias},
                      {"task", "generate"},
                      {"model", StoriesPath()},
                      {"options", {{"ctx", 256}, {"parallel", 1}}}});
  }
  Json file = {{"server", {{"host", "127.0.0.1"}, {"port", 0}, {"threads", 2}}},
               {"providers", {{{"id", "local"}, {"type", "llama"}, {"options", {{"threads", 1}}}}}},
               {"models", models}};
  std::ofstream(path + ".tmp") << file.dump(2);
  std::filesystem::rename(path + ".tmp", path);
}

// A `modelrt serve` child with its own data directory and admin key; killed if still running.
class ServeProcess {
 public:
  ServeProcess(const std::string& config_path, const std::string& data_dir,
               const std::string& log_path) {
    // None of the developer's MODELRT_* settings reach the child.
    child_
        .Spawn({std::string(MODELRT_BIN_DIR) + "/modelrt", "--log-level", "info", "serve",
                "--config", config_path, "--port", "0"},
               {"MODELRT_DATA_DIR=" + data_dir, std::string("MODELRT_ADMIN_KEY=") + kProcessKey},
               log_path, {"MODELRT_"})
        .IgnoreError();  // started() says whether it ran
  }

  // The port from the "listening on" line; 0 when the process exited or 60 s passed.
  int WaitForPort() { return child_.WaitForListeningPort(std::chrono::seconds(60)); }
  // Waits up to 60 s; the exit status, or -1.
  int WaitExit() {
    return child_.WaitForExit(std::chrono::seconds(60)) ? child_.exit_code().value_or(-1) : -1;
  }
  bool Signal(int sig) { return child_.Signal(sig); }
  bool started() const { return child_.started(); }
  std::string Log() const { return child_.Log(); }

 private:
  ChildProcess child_;
};

std::set<std::string> Aliases(int port) {
  std::set<std::string> aliases;
  HttpResult r = AdminCall(port, "GET", "/admin/models", "", kProcessKey);
  if (r.status != 200) return aliases;
  const Json body = r.json();  // kept: a range-for over a temporary's member would dangle
  for (const Json& model : body["data"]) aliases.insert(model["alias"].get<std::string>());
  return aliases;
}

// Polls GET /admin/models until `want` holds (at most 30 s).
bool WaitForAliases(int port, const std::set<std::string>& want) {
  for (int i = 0; i < 300; ++i) {
    if (Aliases(port) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(AdminSighupTest, SighupAndConfigReloadApplyTheEditedFile) {
  const std::string dir = FreshDir("sighup");
  const std::string config = dir + "/modelrt.json";
  WriteConfig(config, {"chat"});
  ServeProcess server(config, dir + "/data", dir + "/serve.log");
  ASSERT_TRUE(server.started());
  const int port = server.WaitForPort();
  ASSERT_GT(port, 0) << "the server did not start:\n" << server.Log();
  EXPECT_EQ(Aliases(port), (std::set<std::string>{"chat", "embed"}));
  ASSERT_EQ(Embed(port, "embed").status, 200);

  WriteConfig(config, {"story"});  // chat goes, story comes
  ASSERT_TRUE(server.Signal(SIGHUP));
  EXPECT_TRUE(WaitForAliases(port, {"embed", "story"})) << server.Log();
  EXPECT_EQ(Embed(port, "embed").Header("X-Model-Generation"), "1") << "unchanged: same engine";
  HttpResult story = PostJson(port, "/v1/completions",
                              {{"model", "story"}, {"prompt", "Once"}, {"max_tokens", 2}});
  EXPECT_EQ(story.status, 200) << story.body;

  WriteConfig(config, {"story", "tale"});
  HttpResult reloaded = AdminCall(port, "POST", "/admin/config/reload", "", kProcessKey);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  EXPECT_EQ(reloaded.json()["added"], Json({"tale"}));
  EXPECT_EQ(Aliases(port), (std::set<std::string>{"embed", "story", "tale"}));

  // A broken file on SIGHUP: logged, nothing applied, still serving.
  std::ofstream(config) << "models: [ {alias: broken";
  ASSERT_TRUE(server.Signal(SIGHUP));
  bool logged = false;
  for (int i = 0; i < 300 && !logged; ++i) {
    logged = server.Log().find("config not reloaded") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(logged) << server.Log();
  EXPECT_EQ(Aliases(port), (std::set<std::string>{"embed", "story", "tale"}));

  // One server per data directory: the journal is locked.
  WriteConfig(dir + "/other.json", {"chat"});
  ServeProcess second(dir + "/other.json", dir + "/data", dir + "/second.log");
  EXPECT_EQ(second.WaitExit(), 1);
  EXPECT_NE(second.Log().find("registry.jsonl"), std::string::npos) << second.Log();

  ASSERT_TRUE(server.Signal(SIGTERM));
  EXPECT_EQ(server.WaitExit(), 0) << server.Log();
  EXPECT_EQ(server.Log().find(kProcessKey), std::string::npos) << "the admin key was logged";
}

}  // namespace
}  // namespace modelrt::testing
