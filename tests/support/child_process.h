// Test support: a child process (usually the real `modelrt serve`, or the test binary itself)
// spawned with a filtered copy of this process's environment, stderr to a log file and stdout to
// /dev/null. SpawnChild is the bare spawn; ChildProcess owns the pid, reaps it, and kills it
// (SIGKILL) if it is still running when destroyed, so a failed assertion leaves no server behind.
//
//   ChildProcess server;
//   ASSERT_TRUE(server.Spawn({MODELRT_BIN_DIR "/modelrt", "serve", "--port", "0"},
//                            {"MODELRT_DATA_DIR=" + dir}, dir + "/serve.log", {"MODELRT_"}).ok());
//   const int port = server.WaitForListeningPort();  // 0: it exited or never listened
//   server.Signal(SIGTERM);
//   if (server.WaitForExit(std::chrono::seconds(60))) EXPECT_EQ(server.exit_code(), 0);
//
// Thread-safety: one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "modelrt/status.h"

namespace modelrt::testing {

// Spawns args[0] (a path, not searched in $PATH) with `args`. Its environment is this process's,
// less every variable whose "NAME=value" starts with one of `drop_env_prefixes`, followed by
// `extra_env` ("NAME=value" each). stderr goes to `log_path` (truncated), stdout to /dev/null.
// The pid, or Internal when posix_spawn fails.
Result<pid_t> SpawnChild(const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env, const std::string& log_path,
                         const std::vector<std::string>& drop_env_prefixes = {});

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // SpawnChild, once per object.
  Status Spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
               const std::string& log_path,
               const std::vector<std::string>& drop_env_prefixes = {});

  bool started() const { return pid_ > 0; }
  // Started and not yet reaped.
  bool running() const { return pid_ > 0 && !exited_; }
  // Reaps the child if it has exited, without blocking. True once it has exited (or never
  // started).
  bool Exited();
  // Polls every 100 ms for at most `timeout`; true when the child has exited.
  bool WaitForExit(std::chrono::milliseconds timeout);
  // The exit code once the child exited normally; nullopt while running or after a signal.
  std::optional<int> exit_code() const;
  // kill(2); false when the child is not running or the signal could not be sent.
  bool Signal(int sig);
  // SIGKILL and reap, when still running.
  void Kill();

  // Polls the log (every 100 ms, at most `timeout`) for the server's
  // "listening on http://127.0.0.1:<port>" line; the port, or 0 when the child exited first or
  // the time ran out.
  int WaitForListeningPort(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The log file's whole text so far.
  std::string Log() const;

 private:
  std::string log_path_;
  pid_t pid_ = 0;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace modelrt::testing
