#include "cli/cli_runtime.h"

namespace modelrt::cli {

Result<Config> LoadCliConfig(const std::string& path) {
  if (!path.empty()) return LoadConfigFile(path);
  return DemoConfig();
}

Result<std::unique_ptr<ModelRuntime>> BuildLazyRuntime(Config config) {
  for (ModelSpec& spec : config.models) {
    spec.warmup = WarmupPolicy::kLazy;
    spec.required = false;
  }
  return ModelRuntime::Builder().SetConfig(config).SetProviderWarmup(ProviderWarmup::kLazy).Build();
}

}  // namespace modelrt::cli
