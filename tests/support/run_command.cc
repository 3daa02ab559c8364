#include "support/run_command.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "support/llama_test_models.h"

namespace modelrt::testing {

CommandResult RunCommand(const std::string& command) {
  static std::atomic<int> counter{0};
  const std::string err_path = TestTempDir() + "/stderr-" + std::to_string(getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)) + ".txt";
  CommandResult result;
  const std::string full = "(" + command + ") </dev/null 2>'" + err_path + "'";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.out.append(buf, n);
  const int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  result.err = ss.str();
  std::remove(err_path.c_str());
  return result;
}

}  // namespace modelrt::testing
