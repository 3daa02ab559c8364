// SIGTERM drain of a real server process: a long streamed request is in flight, the process
// gets SIGTERM, the request still completes, and the process exits 0.
//
// The process is `modelrt serve` once the CLI has that verb; before that, this test binary
// re-executes itself in "child mode" (ServeChild.Run below), which serves through the same
// server::ServeUntilSignal that `modelrt serve` calls.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "http_test_client.h"
#include "server/serve_until_signal.h"
#include "test_server.h"

extern char** environ;

namespace modelrt::testing {
namespace {

constexpr const char* kChildEnv = "MODELRT_SERVE_CHILD";

Config DrainConfig() {
  Config config = TestConfig();
  config.server.max_tokens_limit = 4096;
  config.server.drain_grace_s = 60;
  config.models[3].options = {{"ctx", 2048}, {"parallel", 1}};  // chat1
  return config;
}

// Child mode: only runs when the parent test sets MODELRT_SERVE_CHILD.
TEST(ServeChild, Run) {
  if (!std::getenv(kChildEnv)) GTEST_SKIP() << "runs only as ServeDrainTest's server process";
  std::_Exit(server::ServeUntilSignal(DrainConfig()));
}

// The config as a JSON file, for the real `modelrt serve --config`.
std::string WriteConfigFile(const Config& c) {
  Json models = Json::array();
  for (const ModelSpec& m : c.models) {
    models.push_back({{"alias", m.alias}, {"task", std::string(ToString(m.task))},
                      {"provider", m.provider}, {"model", m.model}, {"options", m.options}});
  }
  Json file = {{"server",
                {{"host", c.server.host},
                 {"port", 0},
                 {"max_tokens_limit", c.server.max_tokens_limit},
                 {"drain_grace_s", c.server.drain_grace_s}}},
               {"providers", {{{"id", "local"}, {"type", "llama"}, {"options", {{"threads", 1}}}}}},
               {"models", models}};
  std::string path = TestTempDir() + "/drain-config.json";
  std::ofstream(path) << file.dump(2);
  return path;
}

bool CliHasServe() {
  std::string command = std::string(MODELRT_BIN_DIR) + "/modelrt serve --help >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ServeDrainTest, SigtermFinishesTheInFlightRequestThenExitsZero) {
  std::string log_path = TestTempDir() + "/serve.log";
  std::vector<std::string> args;
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  if (CliHasServe()) {
    args = {std::string(MODELRT_BIN_DIR) + "/modelrt", "--log-level", "info", "serve",
            "--config", WriteConfigFile(DrainConfig()), "--port", "0"};
  } else {
    args = {"/proc/self/exe", "--gtest_filter=ServeChild.Run"};
    env.push_back(std::string(kChildEnv) + "=1");
  }
  env.push_back("MODELRT_LOG_LEVEL=info");
  // The server keeps its registry journal in the data directory: a private one per test.
  env.push_back("MODELRT_DATA_DIR=" + TestTempDir() + "/drain-data");
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  auto kill_child = [&] { kill(pid, SIGKILL); waitpid(pid, nullptr, 0); };

  // The server logs its address once it listens.
  int port = 0;
  std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::smatch m;
    std::string log = ReadFile(log_path);
    if (std::regex_search(log, m, listening)) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (port == 0) {
    kill_child();
    FAIL() << "the server did not start:\n" << ReadFile(log_path);
  }

  Json request = {{"model", "chat1"},
                  {"messages", {{{"role", "user"}, {"content", "Tell a long story."}}}},
                  {"max_tokens", 800},
                  {"ignore_eos", true},
                  {"temperature", 0},
                  {"stream", true}};
  std::string body = request.dump();
  RawConnection c(port);
  ASSERT_TRUE(c.connected());
  c.Send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string first = c.ReadUntil("\"content\":\"");
  ASSERT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  ASSERT_EQ(kill(pid, SIGTERM), 0);

  std::string all = c.ReadAll();  // until the server closes the connection
  EXPECT_NE(all.find("\"finish_reason\":\"length\""), std::string::npos) << all.substr(0, 2000);
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos);

  int status = 0;
  bool exited = false;
  for (int i = 0; i < 600 && !exited; ++i) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string log = ReadFile(log_path);
  if (!exited) {
    kill_child();
    FAIL() << "the server did not exit after SIGTERM:\n" << log;
  }
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 0) << log;
  EXPECT_NE(log.find("draining 1 request(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("status=200 model=chat1"), std::string::npos) << log;
  // After SIGTERM nothing new is accepted.
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 0);
}

}  // namespace
}  // namespace modelrt::testing
