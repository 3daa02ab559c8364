// ModelRuntime: the public face of RuntimeCore and Reconciler — typed handles,
// registration, prefetch, unload, reload, config re-reads, pool status.
#include "core/logging.h"
#include "modelrt/runtime.h"
#include "runtime/reconciler.h"
#include "runtime/runtime_core.h"

namespace modelrt {

std::string_view ToString(ModelState state) {
  switch (state) {
    case ModelState::kUnloaded: return "unloaded";
    case ModelState::kLoading: return "loading";
    case ModelState::kLoaded: return "loaded";
    case ModelState::kFailed: return "failed";
    case ModelState::kDraining: return "draining";
  }
  return "unknown";
}

namespace {

// NotFound for an unknown alias, CapabilityMismatch when it serves another task.
Status CheckTask(const internal::RuntimeCore& core, std::string_view alias, Task wanted) {
  MODELRT_ASSIGN_OR_RETURN(ModelSpec spec, core.Spec(alias));
  if (spec.task != wanted) {
    return CapabilityMismatchError("model '" + spec.alias + "' serves task '" +
                                   std::string(ToString(spec.task)) + "', not '" +
                                   std::string(ToString(wanted)) + "'");
  }
  return OkStatus();
}

}  // namespace

ModelRuntime::ModelRuntime(std::shared_ptr<internal::RuntimeCore> core,
                           std::unique_ptr<internal::Reconciler> reloads)
    : core_(std::move(core)), reloads_(std::move(reloads)) {}

// Handles may keep the core alive; its threads must not outlive the runtime. Shutdown first
// cancels loads, so a file-triggered reload in progress ends before the watcher is joined.
ModelRuntime::~ModelRuntime() {
  core_->Shutdown();
  reloads_->Stop();
}

Result<EmbeddingHandle> ModelRuntime::Embedding(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(CheckTask(*core_, alias, Task::kEmbed));
  return EmbeddingHandle(core_, std::string(alias));
}

Result<RerankerHandle> ModelRuntime::Reranker(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(CheckTask(*core_, alias, Task::kRerank));
  return RerankerHandle(core_, std::string(alias));
}

Result<GeneratorHandle> ModelRuntime::Generator(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(CheckTask(*core_, alias, Task::kGenerate));
  return GeneratorHandle(core_, std::string(alias));
}

namespace {

// Adds an alias and warms it up per its policy. A required eager model that fails to load is
// removed again (Register refuses it) unless `keep_failed` (Reconcile: the alias stays, failed,
// and the error is returned for the summary).
Status AddAlias(internal::RuntimeCore& core, internal::Reconciler& reconciler, ModelSpec spec,
                bool keep_failed) {
  MODELRT_RETURN_IF_ERROR(core.AddSpec(spec));
  Status warmed;
  switch (spec.warmup) {
    case WarmupPolicy::kLazy: break;
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

Status ModelRuntime::Register(ModelSpec spec) {
  return AddAlias(*core_, *reloads_, std::move(spec), /*keep_failed=*/false);
}

Status ModelRuntime::Remove(std::string_view alias) {
  MODELRT_RETURN_IF_ERROR(core_->Remove(alias));
  reloads_->RefreshWatches();
  return OkStatus();
}

bool ModelRuntime::Contains(std::string_view alias) const { return core_->Contains(alias); }

Status ModelRuntime::Validate(const ModelSpec& spec) const { return core_->Validate(spec); }

Status ModelRuntime::Update(ModelSpec spec) {
  return reloads_->Update(std::move(spec), [this](ModelSpec s) { return Register(std::move(s)); });
}

std::vector<ModelStatus> ModelRuntime::List() const { return core_->List(); }

Result<ModelStatus> ModelRuntime::Describe(std::string_view alias) const {
  return core_->Describe(alias);
}

Status ModelRuntime::Prefetch(const std::vector<std::string>& aliases) {
  for (const std::string& alias : aliases) {
    if (!core_->Contains(alias)) return NotFoundError("unknown model '" + alias + "'");
  }
  for (const Status& s : core_->LoadAll(aliases)) MODELRT_RETURN_IF_ERROR(s);
  return OkStatus();
}

Status ModelRuntime::PrefetchAll() {
  std::vector<std::string> aliases;
  for (const ModelStatus& status : core_->List()) aliases.push_back(status.spec.alias);
  return Prefetch(aliases);
}

Status ModelRuntime::Load(std::string_view alias) { return Prefetch({std::string(alias)}); }

Status ModelRuntime::Unload(std::string_view alias) { return core_->Unload(alias); }

Result<ReloadRecord> ModelRuntime::Reload(std::string_view alias, std::optional<ModelSpec> spec) {
  return reloads_->Reload(alias, std::move(spec), ReloadTrigger::kApi);
}

Result<ConfigApplySummary> ModelRuntime::ApplyConfig(const Config& new_config) {
  ConfigApplySummary summary = Reconcile(SnapshotOf(new_config));
  summary.pool_limits_changed = reloads_->ApplyPoolLimits(new_config.pool);
  return summary;
}

Status ModelRuntime::ValidateChange(const RegistrySnapshot& before,
                                    const RegistrySnapshot& after) const {
  return reloads_->Check(before, after);
}

ConfigApplySummary ModelRuntime::Reconcile(const RegistrySnapshot& target) {
  return reloads_->Reconcile(target, [this](ModelSpec spec) {
    return AddAlias(*core_, *reloads_, std::move(spec), /*keep_failed=*/true);
  });
}

Status ModelRuntime::AddProvider(const ProviderConfig& config) {
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Provider> provider, CreateProvider(config));
  return core_->AddProvider({std::move(provider), config});
}

Status ModelRuntime::AddProvider(std::shared_ptr<Provider> provider) {
  return core_->AddProvider({std::move(provider), std::nullopt});
}

Result<ConfigApplySummary> ModelRuntime::ReplaceProvider(const ProviderConfig& config) {
  if (!core_->HasProvider(config.id)) return NotFoundError("unknown provider '" + config.id + "'");
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Provider> provider, CreateProvider(config));
  return reloads_->ReplaceProvider({std::move(provider), config});
}

Result<ConfigApplySummary> ModelRuntime::ReplaceProvider(std::shared_ptr<Provider> provider) {
  return reloads_->ReplaceProvider({std::move(provider), std::nullopt});
}

Status ModelRuntime::RemoveProvider(std::string_view id) { return core_->RemoveProvider(id); }

bool ModelRuntime::HasProvider(std::string_view id) const { return core_->HasProvider(id); }

std::vector<std::string> ModelRuntime::ProviderIds() const { return core_->providers().Ids(); }

std::vector<ReloadRecord> ModelRuntime::ReloadLog() const { return reloads_->Records(); }

std::vector<VersionRecord> ModelRuntime::VersionHistory(std::string_view alias) const {
  return core_->history().Of(alias);
}

std::vector<VersionRecord> ModelRuntime::VersionHistory() const { return core_->history().All(); }

uint64_t ModelRuntime::GlobalGeneration() const {
  return core_->pool().Stats().global_generation;
}

bool ModelRuntime::WatchingModelFiles() const { return reloads_->watching(); }

PoolStats ModelRuntime::PoolStatus() const { return core_->pool().Stats(); }


void ModelRuntime::WaitForBackgroundWarmup() { core_->WaitForBackground(); }

size_t ModelRuntime::LoadsInFlight() const { return core_->LoadsInFlight(); }

MetricsRegistry& ModelRuntime::metrics() { return core_->metrics(); }

std::shared_ptr<MetricsRegistry> ModelRuntime::shared_metrics() { return core_->shared_metrics(); }

}  // namespace modelrt
