#include "cli/cli_runtime.h"

#include "core/paths.h"
#include "providers/llama/demo_models.h"

namespace modelrt::cli {

Result<Config> LoadCliConfig(const std::string& path) {
  if (!path.empty()) return LoadConfigFile(path);
  std::string models_dir = ResolveDataDir(ServerConfig{}) + "/models";
  MODELRT_RETURN_IF_ERROR(PrepareDemoModels(models_dir));
  return DefaultConfig(models_dir);
}

Result<std::unique_ptr<ModelRuntime>> BuildLazyRuntime(Config config) {
  for (ModelSpec& spec : config.models) {
    spec.warmup = WarmupPolicy::kLazy;
    spec.required = false;
  }
  return ModelRuntime::Builder().SetConfig(config).SetProviderWarmup(ProviderWarmup::kLazy).Build();
}

}  // namespace modelrt::cli
