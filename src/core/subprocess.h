// Running a short external command and reading what it prints: a provider's token command
// (`gcloud auth print-access-token`), and the jobs' external commands later.
//
//   MODELRT_ASSIGN_OR_RETURN(CommandOutput out,
//                            RunCommand({"/bin/sh", "-c", command}, std::chrono::seconds(30)));
//   if (out.exit_code != 0) ... out.err ...
//
// The child gets /dev/null for stdin and its own process group, so a timeout kills it with
// everything it started (a shell's children too). What it writes past `max_output` bytes on
// either stream is read and dropped, so a chatty child never blocks on a full pipe.
//
// Thread-safety: a function; safe from any thread (the descriptors it opens are close-on-exec,
// so a command started on another thread at the same time does not inherit them).
#pragma once

#include <spawn.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "modelrt/status.h"

namespace modelrt {

struct CommandOutput {
  int exit_code = 0;  // 128 + N when killed by signal N
  std::string out;    // stdout, at most max_output bytes
  std::string err;    // stderr, at most max_output bytes
};

// Runs `argv` (argv[0] is looked up in PATH) and waits for it. Errors: InvalidArgument for an
// empty argv, NotFound when it cannot be started, DeadlineExceeded (the child killed) when it
// runs past `timeout`. A non-zero exit is not an error here: it is in `exit_code`.
// Attributes for a child in its own process group (so a kill reaches all it starts), with an
// empty signal mask and default dispositions (the server blocks or ignores signals on its
// threads). The caller destroys them with posix_spawnattr_destroy.
void InitChildSpawnAttributes(posix_spawnattr_t* attributes);

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout,
                                 size_t max_output = size_t{1} << 20);

}  // namespace modelrt
