// ControlPlane: start-up, model and provider writes (publish, then reconcile). Config re-reads
// are in control_config_reload.cc.
#include "control/control_plane.h"

#include <utility>

#include "core/file_watcher.h"
#include "core/logging.h"
#include "modelrt/lifecycle.h"
#include "registry/registry_json.h"

namespace modelrt::control {
namespace {

std::string Join(const std::map<std::string, ProviderConfig>& providers) {
  std::string ids;
  for (const auto& [id, provider] : providers) ids += (ids.empty() ? "" : ", ") + id;
  return ids.empty() ? "none" : ids;
}

// The config a runtime built from `snapshot` runs: `settings` (server, pool, reload) with the
// snapshot's providers, bindings and profiles.
Config EffectiveConfig(Config settings, const RegistrySnapshot& snapshot) {
  settings.providers.clear();
  settings.models.clear();
  settings.profiles.clear();
  for (const auto& [id, provider] : snapshot.providers) settings.providers.push_back(provider);
  for (const auto& [alias, binding] : snapshot.bindings) settings.models.push_back(binding);
  for (const auto& [name, profile] : snapshot.profiles) settings.profiles.push_back(profile);
  return settings;
}

}  // namespace

ControlPlane::ControlPlane(Config config, std::string config_path)
    : config_path_(std::move(config_path)) {
  MutexLock lock(settings_mu_);
  file_settings_ = std::move(config);
}

ControlPlane::~ControlPlane() {
  // The watcher's callback re-reads the config through everything below: stop it first.
  config_watcher_.reset();
  // Other replicas' changes reconcile the runtime from the registry's thread: stop that too.
  if (registry_ && replica_changes_ != 0) registry_->Unsubscribe(replica_changes_);
  if (registry_) registry_->SetValidator(nullptr);
  runtime_.reset();
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Create(ControlOptions options) {
  std::unique_ptr<ControlPlane> control(new ControlPlane(options.config, options.config_path));
  MODELRT_ASSIGN_OR_RETURN(control->registry_,
                           Registry::Create(options.config, {.state_path = options.state_path}));
  // The runtime serves what the registry holds now: the file plus the journal's changes.
  const Config effective = EffectiveConfig(options.config, *control->registry_->Current());
  MODELRT_ASSIGN_OR_RETURN(control->runtime_, ModelRuntime::Builder().SetConfig(effective).Build());
  ModelRuntime* runtime = control->runtime_.get();
  control->registry_->SetValidator(
      [runtime](const RegistrySnapshot& before, const RegistrySnapshot& after) {
        return runtime->lifecycle().ValidateChange(before, after);
      });
  // A change made through this process is reconciled by the write that made it; one another
  // replica made (a shared registry journal) arrives here. No write lock: a write waiting on
  // this delivery may hold it, and the reconciler serializes itself.
  ControlPlane* raw = control.get();
  control->replica_changes_ = control->registry_->Subscribe(
      [raw](const RegistryChange& change, const RegistrySnapshot&, const RegistrySnapshot&) {
        if (change.from_another_replica) raw->ReconcileRuntime();
      });
  if (options.config.reload.watch_config) {
    if (options.config_path.empty()) {
      Log("control")->warn("reload.watch_config: the embedded catalog has no file to watch");
    } else {
      control->StartConfigWatch(options.config.reload);
    }
  }
  return control;
}

Config ControlPlane::FileSettings() const {
  MutexLock lock(settings_mu_);
  return file_settings_;
}

ConfigApplySummary ControlPlane::ReconcileRuntime(const Config* settings) {
  RuntimeLifecycle& lifecycle = runtime_->lifecycle();
  ConfigApplySummary summary = lifecycle.Reconcile(*registry_->Current());
  // A re-read file also carries the pool's limits (not part of the catalog snapshot).
  if (settings != nullptr) summary.pool_limits_changed = lifecycle.SetPoolLimits(settings->pool);
  return summary;
}

void ControlPlane::StartConfigWatch(const ReloadConfig& reload) {
  auto watcher = internal::FileWatcher::Create(
      {.debounce = std::chrono::milliseconds(reload.debounce_ms),
       .on_change = [this](const std::string& path) {
         Log("control")->info("{} changed: re-reading it", path);
         Result<ConfigReload> reloaded = ReloadConfigFile();  // logs what it did
         (void)reloaded;
       }});
  if (!watcher) {
    Log("control")->error("the config file is not watched: {}", watcher.error().ToString());
    return;
  }
  Status watched = (*watcher)->SetFiles({config_path_});
  if (!watched.ok()) {
    Log("control")->error("the config file is not watched: {}", watched.ToString());
    return;
  }
  config_watcher_ = *std::move(watcher);
  Log("control")->info("watching {} for changes", config_path_);
}

Result<std::string> ControlPlane::DefaultProvider(const RegistrySnapshot& snapshot) const {
  if (snapshot.providers.size() == 1) return snapshot.providers.begin()->first;
  if (snapshot.providers.count("local") != 0) return std::string("local");
  return InvalidArgumentError("provider: is required when " +
                              std::to_string(snapshot.providers.size()) +
                              " providers are registered (" + Join(snapshot.providers) + ")");
}

Result<ModelChange> ControlPlane::AddModel(ModelSpec spec) {
  MutexLock lock(write_mu_);
  std::shared_ptr<const RegistrySnapshot> snapshot = registry_->Current();
  if (snapshot->bindings.count(spec.alias) != 0) {
    return AlreadyExistsError("model '" + spec.alias +
                              "' already exists (delete it first, or reload it with a new spec)");
  }
  if (snapshot->profiles.count(spec.alias) != 0) {
    return AlreadyExistsError("'" + spec.alias + "' is already a profile name");
  }
  if (spec.provider.empty()) {
    MODELRT_ASSIGN_OR_RETURN(spec.provider, DefaultProvider(*snapshot));
  }
  if (snapshot->providers.count(spec.provider) == 0) {
    return NotFoundError("provider: unknown provider '" + spec.provider + "' (registered: " +
                         Join(snapshot->providers) + ")");
  }
  MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry_->UpsertBinding(std::move(spec)));
  return ModelChange{version, ReconcileRuntime()};
}

Result<ModelChange> ControlPlane::RemoveModel(const std::string& alias) {
  MutexLock lock(write_mu_);
  MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry_->RemoveBinding(alias));
  return ModelChange{version, ReconcileRuntime()};
}

Result<ReloadRecord> ControlPlane::ReloadModel(const std::string& alias,
                                               std::optional<ModelSpec> spec) {
  if (!spec) return runtime_->lifecycle().Reload(alias);  // the registry does not change
  MutexLock lock(write_mu_);
  spec->alias = alias;
  // A reload with a new spec is a trial: the runtime loads it beside the serving engine first,
  // and only a spec that took over is published (a failed one changes nothing but the reload
  // log). Reconciling afterwards finds the runtime already on it.
  MODELRT_ASSIGN_OR_RETURN(ReloadRecord record, runtime_->lifecycle().Reload(alias, *spec));
  Result<uint64_t> saved = registry_->UpsertBinding(*std::move(spec));
  if (!saved.ok()) {
    Log("control")->warn("'{}' reloaded with a new spec that was not saved: {}", alias,
                         saved.error().ToString());
  }
  ReconcileRuntime();
  return record;
}

Result<ProviderPut> ControlPlane::PutProvider(ProviderConfig provider) {
  MutexLock lock(write_mu_);
  std::shared_ptr<const RegistrySnapshot> snapshot = registry_->Current();
  auto old = snapshot->providers.find(provider.id);
  const bool exists = old != snapshot->providers.end();
  if (exists && registry::SameProvider(old->second, provider)) {
    return ProviderPut{snapshot->version, false, {}};  // nothing to do: no needless reloads
  }
  MODELRT_ASSIGN_OR_RETURN(uint64_t version,
                           exists ? registry_->ReplaceProvider(std::move(provider))
                                  : registry_->RegisterProvider(std::move(provider)));
  return ProviderPut{version, !exists, ReconcileRuntime()};
}

Result<ProviderRemoval> ControlPlane::RemoveProvider(const std::string& id, RemovalPolicy policy) {
  MutexLock lock(write_mu_);
  // Writes are serialized here, so the preview is exactly what the removal takes with it.
  MODELRT_ASSIGN_OR_RETURN(RemovalPreview preview, registry_->PreviewProviderRemoval(id));
  MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry_->RemoveProvider(id, policy));
  ReconcileRuntime();
  return ProviderRemoval{version, std::move(preview.bindings)};
}

}  // namespace modelrt::control
