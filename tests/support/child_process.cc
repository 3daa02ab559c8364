#include "support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace modelrt::testing {
namespace {

constexpr std::chrono::milliseconds kPollInterval(100);

bool HasAnyPrefix(const std::string& var, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (var.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

Result<pid_t> SpawnChild(const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env, const std::string& log_path,
                         const std::vector<std::string>& drop_env_prefixes) {
  if (args.empty()) return InvalidArgumentError("SpawnChild: no program");
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string var(*e);
    // The test decides these; a developer's own settings must not leak in.
    if (!HasAnyPrefix(var, drop_env_prefixes)) env.push_back(std::move(var));
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<std::string> arg_copy = args;  // posix_spawn takes char*, not const char*
  std::vector<char*> argv, envp;
  for (std::string& a : arg_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return InternalError("posix_spawn " + args[0] + ": " + std::strerror(rc));
  return pid;
}

Status ChildProcess::Spawn(const std::vector<std::string>& args,
                           const std::vector<std::string>& extra_env, const std::string& log_path,
                           const std::vector<std::string>& drop_env_prefixes) {
  if (started()) return FailedPreconditionError("ChildProcess already spawned");
  log_path_ = log_path;
  Result<pid_t> pid = SpawnChild(args, extra_env, log_path, drop_env_prefixes);
  if (!pid.ok()) return pid.error();
  pid_ = *pid;
  return OkStatus();
}

bool ChildProcess::Exited() {
  if (!started()) return true;
  if (!exited_ && waitpid(pid_, &wait_status_, WNOHANG) == pid_) exited_ = true;
  return exited_;
}

bool ChildProcess::WaitForExit(std::chrono::milliseconds timeout) {
  for (auto waited = std::chrono::milliseconds(0); !Exited(); waited += kPollInterval) {
    if (waited >= timeout) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

std::optional<int> ChildProcess::exit_code() const {
  if (!exited_ || !WIFEXITED(wait_status_)) return std::nullopt;
  return WEXITSTATUS(wait_status_);
}

bool ChildProcess::Signal(int sig) { return running() && kill(pid_, sig) == 0; }

void ChildProcess::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  if (waitpid(pid_, &wait_status_, 0) == pid_) exited_ = true;
}

int ChildProcess::WaitForListeningPort(std::chrono::milliseconds timeout) {
  const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  for (auto waited = std::chrono::milliseconds(0); waited < timeout; waited += kPollInterval) {
    std::smatch m;
    const std::string text = Log();
    if (std::regex_search(text, m, listening)) return std::stoi(m[1]);
    if (Exited()) return 0;
    std::this_thread::sleep_for(kPollInterval);
  }
  return 0;
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace modelrt::testing
