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

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

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
    std::vector<std::string> args = {std::string(MODELRT_BIN_DIR) + "/modelrt",
                                     "--log-level",
                                     "info",
                                     "serve",
                                     "--config",
                                     config_path_,
                                     "--port",
                                     "0"};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string var(*e);
      // The test decides these; a developer's own settings must not leak in.
      if (var.rfind("MODELRT_ADMIN_KEY=", 0) == 0 || var.rfind("MODELRT_DATA_DIR=", 0) == 0 ||
          var.rfind("MODELRT_API_KEYS=", 0) == 0 || var.rfind("MODELRT_LOG_LEVEL=", 0) == 0) {
        continue;
      }
      env.push_back(var);
    }
    env.insert(env.end(), env_.begin(), env_.end());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = 0;
      return false;
    }
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, listening)) {
        port_ = std::stoi(m[1]);
        return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // SIGTERM and wait; the exit status (-1 when it had to be killed or was not running).
  int Stop() {
    if (pid_ == 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
    return -1;
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string config_path_;
  std::vector<std::string> env_;
  std::string log_path_;
  pid_t pid_ = 0;
  int port_ = 0;
};

}  // namespace modelrt::testing
