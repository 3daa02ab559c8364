#include "cli/admin_options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "server/api_key_auth.h"

namespace modelrt::cli {

using server::TrimSpace;

std::optional<std::string> ProcessEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<std::string> ReadAdminKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return InvalidArgumentError("cannot read admin key file '" + path +
                                "': " + std::strerror(errno));
  }
  std::string line;
  while (std::getline(in, line)) {
    std::string key = TrimSpace(line);
    if (!key.empty()) return key;
  }
  return InvalidArgumentError("admin key file '" + path + "' is empty");
}

Result<AdminClientOptions> ResolveClientOptions(const AdminArgs& args, const EnvLookup& env) {
  AdminClientOptions options;
  std::string url = args.server;
  if (url.empty()) {
    std::optional<std::string> from_env = env("MODELRT_SERVER");
    url = from_env && !from_env->empty() ? *from_env : std::string(kDefaultServerUrl);
  }
  MODELRT_ASSIGN_OR_RETURN(options.server, ParseServerUrl(url));

  if (!args.admin_key_file.empty()) {
    MODELRT_ASSIGN_OR_RETURN(options.admin_key, ReadAdminKeyFile(args.admin_key_file));
  } else if (std::optional<std::string> key = env("MODELRT_ADMIN_KEY")) {
    options.admin_key = TrimSpace(*key);
  }

  if (!(args.timeout_s > 0) || args.timeout_s > 7 * 86400) {
    return InvalidArgumentError("--timeout must be a number of seconds in (0, 604800]");
  }
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(args.timeout_s * 1000));
  if (options.timeout.count() == 0) options.timeout = std::chrono::milliseconds(1);
  // Opening a connection never needs the long timeout a load does.
  options.connect_timeout = std::min(options.timeout, options.connect_timeout);
  return options;
}

void AddServerOptions(CLI::App* cmd, AdminArgs& args) {
  cmd->add_option(
      "--server", args.server,
      "server URL, http:// only (default: $MODELRT_SERVER, else http://127.0.0.1:8080)");
  cmd->add_option("--admin-key-file", args.admin_key_file,
                  "file holding the admin key (default: $MODELRT_ADMIN_KEY)");
  cmd->add_option("--timeout", args.timeout_s, "seconds a call may take (default 600)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args.json, "print the server's JSON as received");
}

}  // namespace modelrt::cli
