// SIGTERM drain of a real server process: a long streamed request is in flight, the process
// gets SIGTERM, the request still completes, and the process exits 0.
//
// The process is `modelrt serve` once the CLI has that verb; before that, this test binary
// re-executes itself in "child mode" (ServeChild.Run below), which serves through the same
// server::ServeUntilSignal that `modelrt serve` calls.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "catalog/options_json.h"
#include "core/json.h"
#include "http_test_client.h"
#include "server/serve_until_signal.h"
#include "support/child_process.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

constexpr const char* kChildEnv = "MODELRT_SERVE_CHILD";

Config DrainConfig() {
  Config config = TestConfig();
  config.server.max_tokens_limit = 4096;
  config.server.drain_grace_s = 60;
  config.models[3].options = MakeOptions({{"ctx", 2048}, {"parallel", 1}});  // chat1
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
    models.push_back({{"alias", m.alias},
                      {"task", std::string(ToString(m.task))},
                      {"provider", m.provider},
                      {"model", m.model},
                      {"options", OptionsJson(m.options)}});
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

TEST(ServeDrainTest, SigtermFinishesTheInFlightRequestThenExitsZero) {
  std::string log_path = TestTempDir() + "/serve.log";
  std::vector<std::string> args;
  std::vector<std::string> env;  // added to this process's whole environment
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
  ChildProcess child;  // SIGKILLed on any early return
  Status spawned = child.Spawn(args, env, log_path);
  ASSERT_TRUE(spawned.ok()) << spawned.ToString();

  // The server logs its address once it listens.
  const int port = child.WaitForListeningPort(std::chrono::seconds(60));
  ASSERT_NE(port, 0) << "the server did not start:\n" << child.Log();

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
  ASSERT_TRUE(child.Signal(SIGTERM));

  std::string all = c.ReadAll();  // until the server closes the connection
  EXPECT_NE(all.find("\"finish_reason\":\"length\""), std::string::npos) << all.substr(0, 2000);
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos);

  const bool exited = child.WaitForExit(std::chrono::seconds(60));
  std::string log = child.Log();
  ASSERT_TRUE(exited) << "the server did not exit after SIGTERM:\n" << log;
  ASSERT_TRUE(child.exit_code().has_value()) << log;
  EXPECT_EQ(*child.exit_code(), 0) << log;
  EXPECT_NE(log.find("draining 1 request(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("status=200 model=chat1"), std::string::npos) << log;
  // After SIGTERM nothing new is accepted.
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 0);
}

}  // namespace
}  // namespace modelrt::testing
