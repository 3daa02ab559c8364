#include "cli/serve.h"

#include "cli/cli_runtime.h"
#include "core/logging.h"
#include "server/serve_until_signal.h"

namespace modelrt::cli {

Result<Config> LoadServeConfig(const ServeArgs& args) {
  MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(args.config_path));
  if (!args.host.empty()) config.server.host = args.host;
  if (args.port >= 0) config.server.port = args.port;
  return config;
}

int RunServe(const ServeArgs& args) {
  Result<Config> config = LoadServeConfig(args);
  if (!config) {
    Log("serve")->error("{}", config.error().ToString());
    return 1;
  }
  return server::ServeUntilSignal(*config, args.config_path);
}

}  // namespace modelrt::cli
