// Wires the admin verbs (admin_commands.h) into the CLI11 parser: their arguments, the shared
// --server/--admin-key-file/--timeout/--json options, and after parsing, running whichever verb
// was given. Exit codes: 0 done, 1 the server said no or could not be reached, 2 bad usage (an
// invalid --server URL, an unreadable key file...), the same as parse errors of other verbs.
//
//   CLI::App app;
//   cli::AdminVerbs admin(app);
//   app.parse(argc, argv);
//   if (std::optional<int> code = admin.RunParsed()) return *code;
//
// Thread-safety: main thread only; not copyable (CLI11 holds pointers into it).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/admin_commands.h"
#include "cli/admin_options.h"

namespace modelrt::cli {

class AdminVerbs {
 public:
  explicit AdminVerbs(CLI::App& app);
  AdminVerbs(const AdminVerbs&) = delete;
  AdminVerbs& operator=(const AdminVerbs&) = delete;

  // The exit code of the admin verb that was parsed; nullopt when none was.
  std::optional<int> RunParsed();

 private:
  Status Dispatch(const AdminContext& context);

  AdminArgs args_;
  std::string alias_;
  ReloadArgs reload_;
  std::string provider_id_;
  std::string policy_ = "block";
  std::string provider_file_;

  CLI::App* ps_ = nullptr;
  CLI::App* load_ = nullptr;
  CLI::App* unload_ = nullptr;
  CLI::App* reload_cmd_ = nullptr;
  CLI::App* registry_ = nullptr;
  CLI::App* reloads_ = nullptr;
  CLI::App* config_reload_ = nullptr;
  CLI::App* providers_ = nullptr;
  CLI::App* providers_list_ = nullptr;
  CLI::App* providers_show_ = nullptr;
  CLI::App* providers_preview_ = nullptr;
  CLI::App* providers_remove_ = nullptr;
  CLI::App* providers_put_ = nullptr;
};

}  // namespace modelrt::cli
