#include "jobs/process_group.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/subprocess.h"

namespace modelrt::jobs {

namespace {

constexpr std::chrono::seconds kDrainAfterExit{2};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// One output stream of the child: a pipe read into a log file up to a limit.
struct Stream {
  Fd read;
  Fd write;  // the child's end, closed once it runs
  Fd log;
  int64_t written = 0;
  bool truncated = false;
  bool open = true;
};

Status OpenStream(Stream& s, const std::string& log_path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return UnavailableError(std::string("pipe: ") + strerror(errno));
  s.read.Reset(fds[0]);
  s.write.Reset(fds[1]);
  s.log.Reset(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (s.log.get() < 0) {
    return UnavailableError("cannot write " + log_path + ": " + strerror(errno));
  }
  return OkStatus();
}

// Reads what the pipe has; closes the stream at end of file.
void Drain(Stream& s, int64_t max_bytes) {
  char buffer[16384];
  const ssize_t n = read(s.read.get(), buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    s.open = false;
    return;
  }
  const int64_t keep = std::min<int64_t>(n, std::max<int64_t>(0, max_bytes - s.written));
  if (keep < n) s.truncated = true;
  if (keep > 0 && write(s.log.get(), buffer, static_cast<size_t>(keep)) == keep) s.written += keep;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

Result<ProcessOutcome> RunProcessGroup(const ProcessSpec& spec, const CancelSignal& cancel) {
  Stream out, err;
  MODELRT_RETURN_IF_ERROR(OpenStream(out, spec.stdout_path));
  MODELRT_RETURN_IF_ERROR(OpenStream(err, spec.stderr_path));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  posix_spawnattr_t attributes;
  InitChildSpawnAttributes(&attributes);
  std::vector<char*> argv{const_cast<char*>(spec.program.c_str())};
  for (const std::string& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, spec.program.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    return NotFoundError("cannot start " + spec.program + ": " + strerror(spawned));
  }
  out.write.Reset();
  err.write.Reset();

  ProcessOutcome outcome;
  outcome.pid = pid;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point term_sent{};
  bool exited = false;
  std::chrono::steady_clock::time_point exited_at{};
  int wait_status = 0;
  // Until the program has exited and both pipes are closed; a leftover child of the group that
  // holds a pipe open is killed once the program is gone.
  while (!exited || out.open || err.open) {
    const auto now = std::chrono::steady_clock::now();
    if (!exited && term_sent == std::chrono::steady_clock::time_point{}) {
      if (cancel.cancelled()) outcome.cancelled = true;
      if (now - start >= spec.timeout) outcome.timed_out = true;
      if (outcome.cancelled || outcome.timed_out) {
        kill(-pid, SIGTERM);
        term_sent = now;
      }
    } else if (!exited && now - term_sent >= spec.kill_grace) {
      kill(-pid, SIGKILL);
    }
    pollfd fds[2] = {{out.open ? out.read.get() : -1, POLLIN, 0},
                     {err.open ? err.read.get() : -1, POLLIN, 0}};
    // A short tick: a cancel is seen within 100 ms.
    const int ready = poll(fds, 2, 100);
    if (ready > 0) {
      if (fds[0].revents != 0) Drain(out, spec.max_log_bytes);
      if (fds[1].revents != 0) Drain(err, spec.max_log_bytes);
    }
    if (!exited) {
      // Seen exited but not reaped yet: while it is a zombie its group id cannot be reused, so
      // killing the group reaches only what it started and left behind.
      siginfo_t info{};
      if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
        }
        exited = true;
        exited_at = std::chrono::steady_clock::now();
      }
    } else if (std::chrono::steady_clock::now() - exited_at > kDrainAfterExit) {
      break;  // a pipe held open by something that left the group (setsid): stop reading
    }
  }
  outcome.exit_code = ExitCodeOf(wait_status);
  outcome.stdout_bytes = out.written;
  outcome.stderr_bytes = err.written;
  outcome.stdout_truncated = out.truncated;
  outcome.stderr_truncated = err.truncated;
  return outcome;
}

}  // namespace modelrt::jobs
