#include "support/llama_tools.h"

#include <filesystem>
#include <string_view>

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
    // Complete output ends by closing the data list and the object: "\n  ]\n}" (an item
    // closes with "]\n    }", which a cut-short output may end with).
    std::string_view out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.remove_suffix(1);
    if (out.size() >= 6 && out.substr(out.size() - 6) == "\n  ]\n}") return r.out;
  }
  return "";
}

}  // namespace modelrt::testing
