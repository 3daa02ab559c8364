#include "support/llama_tools.h"

#include <filesystem>

#include "support/run_command.h"

namespace modelrt::testing {

bool HaveLlamaTool(const std::string& name) {
  return std::filesystem::exists(std::string(LLAMA_BIN_DIR) + "/" + name);
}

std::string RunLlamaEmbedding(const std::string& args) {
  const std::string command = std::string(LLAMA_BIN_DIR) + "/llama-embedding -t 1 " + args;
  for (int attempt = 0; attempt < 5; ++attempt) {
    CommandResult r = RunCommand(command);
    if (r.exit_code != 0) return "";
    // Complete output ends with the list's "]" and the object's "}".
    const size_t end = r.out.find_last_not_of(" \n");
    if (end == std::string::npos || end == 0 || r.out[end] != '}') continue;
    const size_t before = r.out.find_last_not_of(" \n", end - 1);
    if (before != std::string::npos && r.out[before] == ']') return r.out;
  }
  return "";
}

}  // namespace modelrt::testing
