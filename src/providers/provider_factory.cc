// CreateProvider / ProviderTypes (include/modelrt/provider.h): the table of provider types.
// A new provider type adds one row to kFactories.
#include <functional>

#include "modelrt/provider.h"
#include "providers/llama/llama_provider.h"
#include "providers/remote/remote_provider.h"
#ifdef MODELRT_WITH_ONNX
#include "providers/onnx/onnx_provider.h"
#endif

namespace modelrt {
namespace {

struct Factory {
  const char* type;
  std::function<Result<std::shared_ptr<Provider>>(const ProviderConfig&)> create;
};

const std::vector<Factory>& Factories() {
  static const std::vector<Factory> factories = {
      {"llama",
       [](const ProviderConfig& config) -> Result<std::shared_ptr<Provider>> {
         MODELRT_ASSIGN_OR_RETURN(auto provider, llama::LlamaProvider::Create(config));
         return std::shared_ptr<Provider>(std::move(provider));
       }},
#ifdef MODELRT_WITH_ONNX
      {"onnx",
       [](const ProviderConfig& config) -> Result<std::shared_ptr<Provider>> {
         MODELRT_ASSIGN_OR_RETURN(auto provider, onnx::OnnxProvider::Create(config));
         return std::shared_ptr<Provider>(std::move(provider));
       }},
#endif
  };
  return factories;
}

Result<std::shared_ptr<Provider>> CreateRemote(const ProviderConfig& config) {
  MODELRT_ASSIGN_OR_RETURN(auto provider, remote::RemoteProvider::Create(config));
  return std::shared_ptr<Provider>(std::move(provider));
}

}  // namespace

Result<std::shared_ptr<Provider>> CreateProvider(const ProviderConfig& config) {
  for (const Factory& factory : Factories()) {
    if (config.type == factory.type) return factory.create(config);
  }
  for (const std::string& type : remote::RemoteProviderTypes()) {
    if (config.type == type) return CreateRemote(config);
  }
  std::string known;
  for (const std::string& type : ProviderTypes()) known += (known.empty() ? "" : ", ") + type;
  return NotFoundError("unknown provider type '" + config.type + "' (known: " + known + ")");
}

std::vector<std::string> ProviderTypes() {
  std::vector<std::string> types;
  for (const Factory& factory : Factories()) types.push_back(factory.type);
  for (std::string& type : remote::RemoteProviderTypes()) types.push_back(std::move(type));
  return types;
}

}  // namespace modelrt
