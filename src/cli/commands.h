// The in-process CLI verbs: models, embed, rerank, generate. Each returns a Status; main turns
// a non-OK one into a single line on stderr and a non-zero exit. Results go to stdout (plain
// text for people, --json for programs); logs and progress go to stderr.
//
// Thread-safety: call from the main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modelrt/status.h"

namespace modelrt::cli {

struct CommonArgs {
  std::string config_path;  // "" = embedded demo catalog
  bool json = false;
};

struct EmbedArgs {
  std::string alias;
  std::vector<std::string> texts;
  bool no_normalize = false;
};

struct RerankArgs {
  std::string alias;
  std::string query;
  std::vector<std::string> documents;
  int top_n = 0;  // 0 = all
};

struct GenerateArgs {
  std::string alias;
  std::string prompt;
  std::string system;  // non-empty: send as a chat (system + user messages)
  bool chat = false;   // render the prompt through the chat template
  int max_tokens = 128;
  std::optional<float> temperature;
  std::optional<uint32_t> seed;
  std::vector<std::string> stop;
};

Status RunModels(const CommonArgs& common);
Status RunEmbed(const CommonArgs& common, const EmbedArgs& args);
Status RunRerank(const CommonArgs& common, const RerankArgs& args);
Status RunGenerate(const CommonArgs& common, const GenerateArgs& args);

}  // namespace modelrt::cli
