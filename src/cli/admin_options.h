// The options every verb that talks to a running server shares (--server, --admin-key-file,
// --timeout, --json) and how they become an AdminClient's options: the server URL from
// --server, else $MODELRT_SERVER, else http://127.0.0.1:8080; the admin key from
// --admin-key-file (its first non-empty line), else $MODELRT_ADMIN_KEY. The key is never a flag
// value: a flag would show in `ps` and in shell history.
//
//   MODELRT_ASSIGN_OR_RETURN(AdminClientOptions options, ResolveClientOptions(args));
//   AdminClient client(std::move(options));
//
// Thread-safety: pure functions apart from reading the key file and the environment.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "cli/admin_client.h"

namespace modelrt::cli {

struct AdminArgs {
  std::string server;          // --server URL; "" = $MODELRT_SERVER, else kDefaultServerUrl
  std::string admin_key_file;  // --admin-key-file FILE; "" = $MODELRT_ADMIN_KEY
  double timeout_s = 600;      // --timeout: seconds a whole call may take (loads can be slow)
  bool json = false;           // --json: print the server's JSON as received
};

// Reads an environment variable; nullopt when unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
std::optional<std::string> ProcessEnv(const char* name);

// InvalidArgument for a bad URL, an unreadable or empty key file, or a non-positive timeout.
// An empty environment variable counts as unset.
Result<AdminClientOptions> ResolveClientOptions(const AdminArgs& args,
                                                const EnvLookup& env = ProcessEnv);

// Adds --server, --admin-key-file, --timeout and --json to `cmd`, filling `args`.
void AddServerOptions(CLI::App* cmd, AdminArgs& args);

// The first non-empty line of `path`, without surrounding whitespace.
Result<std::string> ReadAdminKeyFile(const std::string& path);

}  // namespace modelrt::cli
