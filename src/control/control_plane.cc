// ControlPlane: start-up, model and provider writes with their rollbacks. Config re-reads are in
// control_config_reload.cc.
#include "control/control_plane.h"

#include <utility>

#include "control/registry_runtime_sync.h"
#include "core/logging.h"
#include "reload/config_diff.h"
#include "reload/file_watcher.h"

namespace modelrt::control {
namespace {

std::string Join(const std::map<std::string, ProviderConfig>& providers) {
  std::string ids;
  for (const auto& [id, provider] : providers) ids += (ids.empty() ? "" : ", ") + id;
  return ids.empty() ? "none" : ids;
}

// Logs a failed rollback: the registry then holds a change the runtime refused, until the next
// write or restart brings them together again.
void CheckRollback(const Result<uint64_t>& rollback, const std::string& what) {
  if (!rollback.ok()) {
    Log("control")->error("rolling back {} failed: {}", what, rollback.error().ToString());
  }
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
  sync_.reset();
  runtime_.reset();
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Create(ControlOptions options) {
  std::unique_ptr<ControlPlane> control(new ControlPlane(options.config, options.config_path));
  MODELRT_ASSIGN_OR_RETURN(control->registry_,
                           Registry::Create(options.config, {.state_path = options.state_path}));
  // The runtime serves what the registry holds now: the file plus the journal's changes.
  const Config effective =
      RegistryRuntimeSync::EffectiveConfig(options.config, *control->registry_->Current());
  MODELRT_ASSIGN_OR_RETURN(control->runtime_, ModelRuntime::Builder().SetConfig(effective).Build());
  ControlPlane* self = control.get();
  control->sync_ = std::make_unique<RegistryRuntimeSync>(
      *control->registry_, *control->runtime_, [self] { return self->FileSettings(); });
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

Result<uint64_t> ControlPlane::AddModel(ModelSpec spec) {
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
  // The runtime's checks first: a spec its provider rejects never reaches the journal.
  MODELRT_RETURN_IF_ERROR(runtime_->Validate(spec));
  const std::string alias = spec.alias;
  MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry_->UpsertBinding(std::move(spec)));
  RegistryRuntimeSync::Outcome outcome = sync_->OutcomeOf(version);
  if (!outcome.status.ok()) {
    // Published, but the runtime refused it (an eager required load failed): undo.
    CheckRollback(registry_->RemoveBinding(alias), "model '" + alias + "'");
    return outcome.status;
  }
  return version;
}

Result<uint64_t> ControlPlane::RemoveModel(const std::string& alias) {
  MutexLock lock(write_mu_);
  MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry_->RemoveBinding(alias));
  // Removing from the runtime cannot meaningfully fail (a missing alias counts as removed); the
  // sync logs anything else.
  return version;
}

Result<ReloadRecord> ControlPlane::ReloadModel(const std::string& alias,
                                               std::optional<ModelSpec> spec) {
  if (!spec) return runtime_->Reload(alias);  // the registry does not change
  MutexLock lock(write_mu_);
  spec->alias = alias;
  // The runtime first (it validates the spec too): a failed reload changes nothing, and the
  // reload log says why.
  MODELRT_ASSIGN_OR_RETURN(ReloadRecord record, runtime_->Reload(alias, *spec));
  // Saved so a restart or a config re-read keeps the new spec. The listener finds the runtime
  // already on it and does nothing.
  Result<uint64_t> saved = registry_->UpsertBinding(*std::move(spec));
  if (!saved.ok()) {
    Log("control")->warn("'{}' reloaded with a new spec that was not saved: {}", alias,
                         saved.error().ToString());
  }
  return record;
}

Result<ProviderPut> ControlPlane::PutProvider(ProviderConfig provider) {
  MutexLock lock(write_mu_);
  std::shared_ptr<const RegistrySnapshot> snapshot = registry_->Current();
  auto old = snapshot->providers.find(provider.id);
  const bool exists = old != snapshot->providers.end();
  if (exists && internal::SameProviderConfig(old->second, provider)) {
    return ProviderPut{snapshot->version, false, {}};  // nothing to do: no needless reloads
  }
  // A trial creation checks the type and its options before anything is published.
  Result<std::shared_ptr<Provider>> trial = CreateProvider(provider);
  if (!trial) {
    return InvalidArgumentError("provider '" + provider.id + "': " + trial.error().message());
  }
  const std::string id = provider.id;
  Result<uint64_t> version = exists ? registry_->ReplaceProvider(std::move(provider))
                                    : registry_->RegisterProvider(std::move(provider));
  if (!version) return version.error();
  RegistryRuntimeSync::Outcome outcome = sync_->OutcomeOf(*version);
  if (!outcome.status.ok()) {
    CheckRollback(exists ? registry_->ReplaceProvider(old->second)
                         : registry_->RemoveProvider(id, RemovalPolicy::kBlock),
                  "provider '" + id + "'");
    return outcome.status;
  }
  return ProviderPut{*version, !exists, std::move(outcome.summary)};
}

Result<ProviderRemoval> ControlPlane::RemoveProvider(const std::string& id, RemovalPolicy policy) {
  MutexLock lock(write_mu_);
  // Writes are serialized here, so the preview is exactly what the removal takes with it.
  MODELRT_ASSIGN_OR_RETURN(RemovalPreview preview, registry_->PreviewProviderRemoval(id));
  MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry_->RemoveProvider(id, policy));
  return ProviderRemoval{version, std::move(preview.bindings)};
}

}  // namespace modelrt::control
