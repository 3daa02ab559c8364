// Test support: runs a shell command and captures its exit code, stdout and stderr.
//
//   #include "support/run_command.h"
//   CommandResult r = RunCommand(std::string(MODELRT_BIN_DIR) + "/modelrt-testmodel --help");
//   EXPECT_EQ(r.exit_code, 0);
//
// Thread-safety: thread-safe (each call uses its own temporary file for stderr).
#pragma once

#include <string>

namespace modelrt::testing {

struct CommandResult {
  int exit_code = -1;  // the command's exit status; -1 when it could not run or was killed
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh, stdin from /dev/null.
CommandResult RunCommand(const std::string& command);

}  // namespace modelrt::testing
