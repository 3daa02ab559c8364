// The model store's verbs: `modelrt pull REF` and `modelrt store list|verify|rm`. They work on
// the store directory of the config (-c; default <data dir>/store) in this process, so they need
// no server. Exit codes: 0 done, 1 failed (one readable line on stderr), 2 bad usage.
//
//   modelrt pull hf://BAAI/bge-small-en-v1.5@main -f onnx/model.onnx -f 'tokenizer.json|vocab.txt'
//   modelrt pull https://host/m.gguf --sha256 <hex> --name me/m
//   modelrt store list | verify owner/repo[@rev] | rm owner/repo[@rev]
//
// A file request is a name or glob (required), "?name" (optional) or "a|b|c" (the first that
// exists). `pull` shows a progress bar (bytes, rate, ETA) when stderr is a terminal and plain
// progress lines when it is not.
//
// Thread-safety: main thread only; not copyable (CLI11 holds pointers into it).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "modelrt/status.h"

namespace modelrt::cli {

class StoreVerbs {
 public:
  explicit StoreVerbs(CLI::App& app);
  StoreVerbs(const StoreVerbs&) = delete;
  StoreVerbs& operator=(const StoreVerbs&) = delete;

  std::optional<int> RunParsed();

 private:
  Status Pull();
  Status List();
  Status Verify();
  Status Remove();

  std::string config_path_;
  bool json_ = false;
  std::string ref_;
  std::vector<std::string> files_;
  std::string name_;
  std::string revision_;
  std::string sha256_;
  std::string task_;
  bool link_ = false;
  std::string bundle_;
  CLI::App* pull_ = nullptr;
  CLI::App* store_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* rm_ = nullptr;
};

}  // namespace modelrt::cli
