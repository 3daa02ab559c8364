// SIGHUP on a real `modelrt serve` process: write a config, start the server, edit the config
// (add one alias, remove another), send SIGHUP, poll /admin/models; then the same through
// POST /admin/config/reload. Also: the admin key never reaches the log, and a second server on the
// same data directory refuses to start.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <regex>
#include <sstream>
#include <thread>

#include "admin_test_util.h"

extern char** environ;

namespace modelrt::testing {
namespace {

constexpr const char* kProcessKey = "sighup-admin-key-77f0";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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
               const std::string& log_path)
      : log_path_(log_path) {
    std::vector<std::string> args = {std::string(MODELRT_BIN_DIR) + "/modelrt", "--log-level",
                                     "info", "serve", "--config", config_path, "--port", "0"};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string var = *e;
      if (var.rfind("MODELRT_", 0) != 0) env.push_back(var);  // none of the developer's
    }
    env.push_back("MODELRT_DATA_DIR=" + data_dir);
    env.push_back(std::string("MODELRT_ADMIN_KEY=") + kProcessKey);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // The port from the "listening on" line; 0 when the process exited or 60 s passed.
  int WaitForPort() {
    std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::smatch m;
      std::string log = Log();
      if (std::regex_search(log, m, listening)) return std::stoi(m[1]);
      if (Exited()) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  bool Exited() {
    if (!exited_ && waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }
  // Waits up to 60 s; the exit status, or -1.
  int WaitExit() {
    for (int i = 0; i < 600 && !Exited(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return exited_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  bool Signal(int sig) { return kill(pid_, sig) == 0; }
  bool started() const { return pid_ > 0; }
  std::string Log() const { return ReadText(log_path_); }

 private:
  std::string log_path_;
  pid_t pid_ = 0;
  bool exited_ = false;
  int status_ = 0;
};

std::set<std::string> Aliases(int port) {
  std::set<std::string> aliases;
  HttpResult r = AdminCall(port, "GET", "/admin/models", "", kProcessKey);
  if (r.status != 200) return aliases;
  for (const Json& model : r.json()["data"]) aliases.insert(model["alias"].get<std::string>());
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
