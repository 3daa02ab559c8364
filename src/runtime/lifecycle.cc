// RuntimeLifecycle: registration, prefetch, unload, reload, reconciling to a catalog, config
// re-reads and providers at run time, over RuntimeCore and Reconciler.
#include "modelrt/lifecycle.h"

#include "core/logging.h"
#include "runtime/reconciler.h"
#include "runtime/runtime_core.h"

namespace modelrt {

RuntimeLifecycle::RuntimeLifecycle(std::shared_ptr<internal::RuntimeCore> core,
                                   std::unique_ptr<internal::Reconciler> reloads)
    : core_(std::move(core)), reloads_(std::move(reloads)) {}

RuntimeLifecycle::~RuntimeLifecycle() = default;

void RuntimeLifecycle::Stop() { reloads_->Stop(); }

namespace {

// Adds an alias and warms it up per its policy. A required eager model that fails to load is
// removed again (Register refuses it) unless `keep_failed` (Reconcile: the alias stays, failed,
// and the error is returned for the summary).
Status AddAlias(internal::RuntimeCore& core, internal::Reconciler& reconciler, ModelSpec spec,
                bool keep_failed) {
  MODELRT_RETURN_IF_ERROR(core.AddSpec(spec));
  Status warmed;
  switch (spec.warmup) {
    case WarmupPolicy::kLazy:
      break;
    case WarmupPolicy::kBackground:
      core.LoadInBackground({spec.alias});
      break;
    case WarmupPolicy::kEager: {
      Status loaded = core.LoadAll({spec.alias}).front();
      if (loaded.ok()) break;
      if (spec.required) {
        warmed = loaded.WithPrefix("required model '" + spec.alias + "'");
        if (!keep_failed) core.Remove(spec.alias).IgnoreError();
        break;
      }
      Log("runtime")->warn("optional model '{}' failed to load: {}", spec.alias, loaded.ToString());
      break;
    }
  }
  reconciler.RefreshWatches();
  return warmed;
}

// A config's catalog as a snapshot (version 0: not the registry's).
RegistrySnapshot SnapshotOf(const Config& config) {
  RegistrySnapshot snapshot;
  for (const ProviderConfig& provider : config.providers) {
    snapshot.providers.emplace(provider.id, provider);
  }
  for (ModelSpec spec : config.models) {
    if (spec.provider.empty()) spec.provider = "local";  // as a bare list of specs implies
    snapshot.bindings.emplace(spec.alias, std::move(spec));
  }
  return snapshot;
}

}  // namespace

Status RuntimeLifecycle::Register(ModelSpec spec) {
  return AddAlias(*core_, *reloads_, std::move(spec), /*keep_failed=*/false);
}

Status RuntimeLifecycle::Remove(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(core_->Remove(alias));
  reloads_->RefreshWatches();
  return OkStatus();
}

Status RuntimeLifecycle::Validate(const ModelSpec& spec) const { return core_->Validate(spec); }

Status RuntimeLifecycle::Update(ModelSpec spec) {
  return reloads_->Update(std::move(spec), [this](ModelSpec s) { return Register(std::move(s)); });
}

Status RuntimeLifecycle::Prefetch(const std::vector<std::string>& aliases) {
  for (const std::string& alias : aliases) {
    if (!core_->Contains(alias)) return NotFoundError("unknown model '" + alias + "'");
  }
  for (const Status& s : core_->LoadAll(aliases)) MODELRT_RETURN_IF_ERROR(s);
  return OkStatus();
}

Status RuntimeLifecycle::PrefetchAll() {
  std::vector<std::string> aliases;
  for (const ModelStatus& status : core_->List()) aliases.push_back(status.spec.alias);
  return Prefetch(aliases);
}

Status RuntimeLifecycle::Load(std::string_view alias) { return Prefetch({std::string(alias)}); }

Status RuntimeLifecycle::Unload(std::string_view alias) { return core_->Unload(alias); }

Result<ReloadRecord> RuntimeLifecycle::Reload(std::string_view alias,
                                              std::optional<ModelSpec> spec) {
  return reloads_->Reload(alias, std::move(spec), ReloadTrigger::kApi);
}

Result<ConfigApplySummary> RuntimeLifecycle::ApplyConfig(const Config& new_config) {
  ConfigApplySummary summary = Reconcile(SnapshotOf(new_config));
  summary.pool_limits_changed = SetPoolLimits(new_config.pool);
  return summary;
}

bool RuntimeLifecycle::SetPoolLimits(const PoolConfig& pool) {
  return reloads_->ApplyPoolLimits(pool);
}

Status RuntimeLifecycle::ValidateChange(const RegistrySnapshot& before,
                                        const RegistrySnapshot& after) const {
  return reloads_->Check(before, after);
}

ConfigApplySummary RuntimeLifecycle::Reconcile(const RegistrySnapshot& target) {
  return reloads_->Reconcile(target, [this](ModelSpec spec) {
    return AddAlias(*core_, *reloads_, std::move(spec), /*keep_failed=*/true);
  });
}

Status RuntimeLifecycle::AddProvider(const ProviderConfig& config) {
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Provider> provider, CreateProvider(config));
  return core_->AddProvider({std::move(provider), config});
}

Status RuntimeLifecycle::AddProvider(std::shared_ptr<Provider> provider) {
  return core_->AddProvider({std::move(provider), std::nullopt});
}

Result<ConfigApplySummary> RuntimeLifecycle::ReplaceProvider(const ProviderConfig& config) {
  if (!core_->HasProvider(config.id)) return NotFoundError("unknown provider '" + config.id + "'");
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Provider> provider, CreateProvider(config));
  return reloads_->ReplaceProvider({std::move(provider), config});
}

Result<ConfigApplySummary> RuntimeLifecycle::ReplaceProvider(std::shared_ptr<Provider> provider) {
  return reloads_->ReplaceProvider({std::move(provider), std::nullopt});
}

Status RuntimeLifecycle::RemoveProvider(std::string_view id) { return core_->RemoveProvider(id); }

bool RuntimeLifecycle::HasProvider(std::string_view id) const { return core_->HasProvider(id); }

std::vector<std::string> RuntimeLifecycle::ProviderIds() const { return core_->providers().Ids(); }

Options RuntimeLifecycle::ProviderState(std::string_view id) const {
  std::shared_ptr<Provider> provider = core_->providers().Find(id);
  return provider ? provider->State() : Options();
}

std::vector<ReloadRecord> RuntimeLifecycle::ReloadLog() const { return reloads_->Records(); }

std::vector<VersionRecord> RuntimeLifecycle::VersionHistory(std::string_view alias) const {
  return core_->history().Of(alias);
}

std::vector<VersionRecord> RuntimeLifecycle::VersionHistory() const {
  return core_->history().All();
}

uint64_t RuntimeLifecycle::GlobalGeneration() const {
  return core_->pool().Stats().global_generation;
}

bool RuntimeLifecycle::WatchingModelFiles() const { return reloads_->watching(); }

}  // namespace modelrt
