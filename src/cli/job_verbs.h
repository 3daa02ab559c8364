// The jobs' verbs, against a running server's admin API (like `modelrt ps`):
//
//   modelrt jobs list [--state running] [--kind model-download]
//   modelrt jobs show ID | cancel ID | watch ID
//   modelrt jobs plan KIND --params '{"source": "hf://o/r"}'       what it would do, nothing run
//   modelrt jobs submit KIND --params '{...}' [--watch]
//
// and `modelrt batch IN.jsonl -o OUT.jsonl` (batch_command.h), which runs in this process.
// `watch` prints the job's progress until it ends (a bar on a terminal, lines otherwise) and
// exits 1 when it failed or was cancelled. Exit codes: 0 done, 1 failed, 2 bad usage.
//
// Thread-safety: main thread only; not copyable (CLI11 holds pointers into it).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/admin_client.h"
#include "cli/admin_options.h"
#include "modelrt/status.h"

namespace modelrt::cli {

class JobVerbs {
 public:
  explicit JobVerbs(CLI::App& app);
  JobVerbs(const JobVerbs&) = delete;
  JobVerbs& operator=(const JobVerbs&) = delete;

  std::optional<int> RunParsed();

 private:
  Status Dispatch(const AdminClient& client);
  Status List(const AdminClient& client);
  Status Show(const AdminClient& client);
  Status Cancel(const AdminClient& client);
  Status Watch(const AdminClient& client, const std::string& id);
  Status Plan(const AdminClient& client);
  Status Submit(const AdminClient& client);
  Result<nlohmann::json> Params() const;

  AdminArgs args_;
  std::string id_;
  std::string kind_;
  std::string params_ = "{}";
  std::string metadata_ = "{}";
  std::string state_filter_;
  std::string kind_filter_;
  bool watch_after_submit_ = false;
  CLI::App* jobs_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* cancel_ = nullptr;
  CLI::App* watch_ = nullptr;
  CLI::App* plan_ = nullptr;
  CLI::App* submit_ = nullptr;
};

}  // namespace modelrt::cli
