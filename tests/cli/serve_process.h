// Test fixture: the real `modelrt serve` as a child process on a free loopback port (--port 0;
// the port is read from its "listening on" log line), with the environment a test gives it
// (admin key, data directory). The destructor stops it with SIGTERM, then SIGKILL if it has not
// exited within 30 s.
//
//   ServeProcess server(config_path, {"MODELRT_ADMIN_KEY=k", "MODELRT_DATA_DIR=" + dir});
//   ASSERT_TRUE(server.Start()) << server.log();
//   RunCommand(MODELRT_BIN_DIR "/modelrt ps --server " + server.url());
//
// Thread-safety: one thread.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace modelrt::testing {

class ServeProcess {
 public:
  ServeProcess(std::string config_path, std::vector<std::string> env, std::string log_path)
      : config_path_(std::move(config_path)),
        env_(std::move(env)),
        log_path_(std::move(log_path)) {}
  ~ServeProcess() { Stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Spawns the server and waits (at most 60 s) until it listens. False when it exited or never
  // said where it listens; log() tells why.
  bool Start() {
    const std::vector<std::string> args = {std::string(MODELRT_BIN_DIR) + "/modelrt",
                                           "--log-level",
                                           "info",
                                           "serve",
                                           "--config",
                                           config_path_,
                                           "--port",
                                           "0"};
    // The test decides these; a developer's own settings must not leak in.
    const std::vector<std::string> drop = {"MODELRT_ADMIN_KEY=", "MODELRT_DATA_DIR=",
                                           "MODELRT_API_KEYS=", "MODELRT_LOG_LEVEL="};
    if (!child_.Spawn(args, env_, log_path_, drop).ok()) return false;
    port_ = child_.WaitForListeningPort(std::chrono::seconds(60));
    return port_ != 0;
  }

  // SIGTERM and wait (at most 30 s); the exit status (-1 when it had to be killed or was not
  // running).
  int Stop() {
    if (!child_.running()) return -1;
    child_.Signal(SIGTERM);
    if (child_.WaitForExit(std::chrono::seconds(30))) return child_.exit_code().value_or(-1);
    child_.Kill();
    return -1;
  }

  // SIGKILL, as a crash would end it: no drain, no shutdown code runs. Waits for the exit.
  void Kill() {
    if (!child_.running()) return;
    child_.Kill();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return child_.Log(); }

 private:
  std::string config_path_;
  std::vector<std::string> env_;
  std::string log_path_;
  ChildProcess child_;
  int port_ = 0;
};

}  // namespace modelrt::testing
