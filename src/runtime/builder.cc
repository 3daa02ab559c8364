// ModelRuntime::Builder: providers and specs in, a started runtime out (validation, provider
// warmup, eager loads, background loads).
#include <algorithm>
#include <optional>
#include <set>

#include "core/logging.h"
#include "modelrt/runtime.h"
#include "runtime/reconciler.h"
#include "runtime/runtime_core.h"
#include "store/catalog_models.h"

namespace modelrt {
namespace {

std::string ProviderOrigin(const ProviderConfig& config) {
  return config.origin.empty() ? "provider '" + config.id + "'" : config.origin;
}

}  // namespace

ModelRuntime::Builder::Builder() = default;

ModelRuntime::Builder& ModelRuntime::Builder::SetConfig(const Config& config) {
  config_ = config;
  for (const ProviderConfig& provider_config : config.providers) {
    Result<std::shared_ptr<Provider>> provider = CreateProvider(provider_config);
    if (!provider) {
      // Builder calls chain; the first error surfaces from Build().
      if (deferred_error_.ok()) {
        deferred_error_ = provider.error().WithPrefix(ProviderOrigin(provider_config));
      }
      continue;
    }
    providers_.emplace_back(*std::move(provider), provider_config);
  }
  for (const ModelSpec& spec : config.models) models_.push_back(spec);
  // The parser keeps sizes >= 1; a Config built in code may not have.
  reload_options_.history_size =
      static_cast<size_t>(std::max<int64_t>(1, config.reload.history_size));
  reload_options_.log_size = static_cast<size_t>(std::max<int64_t>(1, config.reload.log_size));
  reload_options_.watch_model_files = config.reload.watch_models;
  reload_options_.watch_debounce = std::chrono::milliseconds(config.reload.debounce_ms);
  return SetPoolConfig(config.pool);
}

ModelRuntime::Builder& ModelRuntime::Builder::SetPoolConfig(const PoolConfig& pool) {
  pool_config_ = pool;
  return *this;
}

ModelRuntime::Builder& ModelRuntime::Builder::SetPoolOptions(PoolOptions options) {
  pool_options_ = std::move(options);
  return *this;
}

ModelRuntime::Builder& ModelRuntime::Builder::SetReloadOptions(ReloadOptions options) {
  reload_options_ = options;
  return *this;
}

ModelRuntime::Builder& ModelRuntime::Builder::AddProvider(std::shared_ptr<Provider> provider) {
  providers_.emplace_back(std::move(provider), std::nullopt);
  return *this;
}

ModelRuntime::Builder& ModelRuntime::Builder::AddModel(ModelSpec spec) {
  models_.push_back(std::move(spec));
  return *this;
}

ModelRuntime::Builder& ModelRuntime::Builder::SetProviderWarmup(ProviderWarmup policy) {
  provider_warmup_ = policy;
  return *this;
}

ModelRuntime::Builder& ModelRuntime::Builder::SetMetrics(std::shared_ptr<MetricsRegistry> metrics) {
  metrics_ = std::move(metrics);
  return *this;
}

Result<std::unique_ptr<ModelRuntime>> ModelRuntime::Builder::Build() {
  MODELRT_RETURN_IF_ERROR(deferred_error_);
  std::set<std::string> ids;
  std::vector<internal::RuntimeCore::ProviderSource> providers;
  // Providers created by SetConfig keep their config, so a re-read config can tell whether a
  // provider changed (ApplyConfig).
  for (const auto& [provider, config] : providers_) {
    if (provider == nullptr) return InvalidArgumentError("AddProvider: null provider");
    if (!ids.insert(provider->id()).second) {
      return AlreadyExistsError("provider '" + provider->id() + "' is defined twice");
    }
    providers.push_back({provider, config});
  }
  auto metrics = metrics_ ? metrics_ : std::make_shared<MetricsRegistry>();
  PoolOptions pool_options =
      pool_options_ ? *pool_options_ : PoolOptions::FromConfig(pool_config_);
  if (pool_options.memory_budget_bytes < 0 || pool_options.max_loaded < 0) {
    return InvalidArgumentError("pool: memory_budget and max_loaded must not be negative");
  }
  // On an error return the core's destructor joins whatever it started.
  auto core = std::make_shared<internal::RuntimeCore>(
      std::move(providers), metrics, std::move(pool_options), reload_options_.history_size);
  // store:// models resolve in the store of this config (opening it writes nothing).
  if (Result<std::shared_ptr<store::ModelStore>> model_store =
          store::ModelStore::Open(store::StoreOptionsFor(config_));
      model_store.ok()) {
    core->SetModelStore(*std::move(model_store));
  }
  std::vector<std::string> eager, background;
  for (const ModelSpec& spec : models_) {
    MODELRT_RETURN_IF_ERROR(core->AddSpec(spec));
    if (spec.warmup == WarmupPolicy::kEager) eager.push_back(spec.alias);
    if (spec.warmup == WarmupPolicy::kBackground) background.push_back(spec.alias);
  }
  if (provider_warmup_ == ProviderWarmup::kEager) core->WarmupProviders();

  std::vector<Status> loaded = core->LoadAll(eager);
  for (size_t i = 0; i < eager.size(); ++i) {
    if (loaded[i].ok()) continue;
    MODELRT_ASSIGN_OR_RETURN(ModelSpec spec, core->Spec(eager[i]));
    if (spec.required) return loaded[i].WithPrefix("required model '" + spec.alias + "'");
    Log("runtime")->warn("optional model '{}' failed to load; continuing: {}", spec.alias,
                         loaded[i].ToString());
  }
  core->LoadInBackground(std::move(background));
  auto reloads = std::make_unique<internal::Reconciler>(core, reload_options_, pool_config_);
  return std::unique_ptr<ModelRuntime>(new ModelRuntime(std::move(core), std::move(reloads)));
}

}  // namespace modelrt
