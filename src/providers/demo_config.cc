// DemoConfig (modelrt/catalog.h): the demo catalog with its files in place. It lives beside the
// provider table because writing the demo models takes llama.cpp's model writer; front ends (the
// CLI) get the demo without knowing a provider.
#include "core/paths.h"
#include "modelrt/catalog.h"
#include "providers/llama/demo_models.h"

namespace modelrt {

Result<Config> DemoConfig(const ServerConfig& server) {
  const std::string models_dir = ResolveDataDir(server) + "/models";
  MODELRT_RETURN_IF_ERROR(PrepareDemoModels(models_dir));
  return DefaultConfig(models_dir);
}

}  // namespace modelrt
