// Runs one external program for a job: no shell, an explicit environment, a working directory,
// stdout and stderr into log files bounded in size, and a timeout. The program runs in its own
// process group; on cancel or timeout the whole group gets SIGTERM, then SIGKILL a moment later,
// and once the program has exited whatever it left in its group is killed too, so nothing it
// started outlives the job.
//
//   ProcessSpec spec{.program = "/usr/bin/python3", .args = {"convert.py"}, .env = {"PATH=/usr/bin"},
//                    .cwd = job_dir + "/work", .stdout_path = job_dir + "/stdout.log", ...};
//   MODELRT_ASSIGN_OR_RETURN(ProcessOutcome out, RunProcessGroup(spec, *job.cancel()));
//
// Thread-safety: a function; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::jobs {

struct ProcessSpec {
  std::string program;             // absolute path, run as is
  std::vector<std::string> args;   // argv[1...]
  std::vector<std::string> env;    // "NAME=value", the whole environment
  std::string cwd;
  std::string stdout_path;
  std::string stderr_path;
  int64_t max_log_bytes = 1 << 20;  // per stream; the rest is read and dropped
  std::chrono::milliseconds timeout{3600 * 1000};
  std::chrono::milliseconds kill_grace{500};  // SIGTERM to SIGKILL
};

struct ProcessOutcome {
  int exit_code = 0;  // 128 + N when killed by signal N
  int pid = 0;
  bool timed_out = false;
  bool cancelled = false;
  int64_t stdout_bytes = 0;  // written to the log
  int64_t stderr_bytes = 0;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

// Errors: NotFound when the program cannot be started, Unavailable when a log cannot be written.
// A non-zero exit, a timeout and a cancel are outcomes, not errors.
Result<ProcessOutcome> RunProcessGroup(const ProcessSpec& spec, const CancelSignal& cancel);

}  // namespace modelrt::jobs
