// RuntimeLifecycle: the catalog's lifecycle and the runtime's administration, apart from the
// inference API (modelrt/runtime.h). What the control plane, the admin API and tools use:
//
//   RuntimeLifecycle& lifecycle = runtime->lifecycle();
//   MODELRT_RETURN_IF_ERROR(lifecycle.Register(spec));
//   MODELRT_ASSIGN_OR_RETURN(ReloadRecord record, lifecycle.Reload("chat"));
//
// Hot reload: Reload swaps a new engine in with no failed calls (in-flight calls finish on the
// old engine), Reconcile / ApplyConfig bring the runtime to a new catalog, and optionally
// changed model files trigger reloads. A failed reload leaves the old engine serving.
//
// Thread-safety: thread-safe; owned by its ModelRuntime and valid while it is.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/provider.h"
#include "modelrt/registry.h"
#include "modelrt/reload.h"
#include "modelrt/status.h"

namespace modelrt {

namespace internal {
class RuntimeCore;
class Reconciler;
}  // namespace internal

class RuntimeLifecycle {
 public:
  RuntimeLifecycle(std::shared_ptr<internal::RuntimeCore> core,
                   std::unique_ptr<internal::Reconciler> reloads);
  ~RuntimeLifecycle();
  RuntimeLifecycle(const RuntimeLifecycle&) = delete;
  RuntimeLifecycle& operator=(const RuntimeLifecycle&) = delete;

  // Adds an alias at run time. AlreadyExists for a duplicate alias; NotFound for an unknown
  // provider; InvalidArgument for options the provider rejects. Honors the spec's warmup.
  Status Register(ModelSpec spec);
  // Unregisters an alias: new calls get NotFound at once; calls in flight finish on its engine,
  // which is freed after the last of them. NotFound for an unknown alias.
  Status Remove(std::string_view alias);
  // Checks a spec as Register would (provider known, options accepted) without registering it.
  // NotFound for an unknown provider; InvalidArgument for options the provider rejects.
  Status Validate(const ModelSpec& spec) const;
  // Replaces a registered alias's spec (same alias): a changed task re-registers it (Remove +
  // Register); changed engine fields (provider, model, options) reload a loaded alias with the new
  // spec (a failed reload keeps the old engine and spec and returns the error) and apply to the
  // next load of an unloaded one; changed settings apply in place. NotFound for an unknown alias.
  Status Update(ModelSpec spec);

  // Loads the given aliases (concurrently) and waits; returns the first error.
  Status Prefetch(const std::vector<std::string>& aliases);
  Status PrefetchAll();
  // Loads one alias now (Prefetch({alias})): for an admin "load" action.
  Status Load(std::string_view alias);
  // Drops the loaded engine; in-flight calls finish on it first.
  Status Unload(std::string_view alias);

  // ---- Hot reload ----
  // Loads `spec` (nullopt: the alias's current spec, e.g. to pick up a replaced file) beside the
  // serving engine and swaps it in: calls in flight finish on the old engine, new calls get the
  // new one, the old one is freed after its last call. The spec may change the file, options,
  // timeouts and pool settings, not the alias or the task. Errors: NotFound (unknown alias),
  // InvalidArgument (bad spec), Unavailable (no room for both engines before the load timeout),
  // DeadlineExceeded, or the load's error; the old engine keeps serving and the attempt is in
  // ReloadLog() either way.
  Result<ReloadRecord> Reload(std::string_view alias, std::optional<ModelSpec> spec = std::nullopt);
  // Applies a re-read config (Reconcile to its catalog, then its pool limits): adds new providers
  // and swaps changed ones in, registers
  // added aliases, removes deleted ones (their calls in flight finish first), reloads changed ones
  // that are loaded (others just take the new spec; aliases of a changed provider count as
  // changed), applies changed call settings and pool limits, and finally removes providers the
  // config no longer has (only those created from a config; a provider still in use stays, with a
  // note). A provider the config cannot create is a note, and the aliases that need it fail.
  Result<ConfigApplySummary> ApplyConfig(const Config& new_config);
  // Sets the pool's limits (memory budget, max_loaded, idle TTL, health checks) for the loads
  // and evictions from now on; true when they changed.
  bool SetPoolLimits(const PoolConfig& pool);
  // ---- The catalog as a snapshot (what a Registry publishes) ----
  // Whether the runtime can serve `after`, checked before it is published (a Registry
  // validator): the providers it adds or changes can be created and the bindings it adds or
  // changes are accepted by their providers. NotFound (unknown provider), InvalidArgument.
  Status ValidateChange(const RegistrySnapshot& before, const RegistrySnapshot& after) const;
  // Brings the runtime to `target`: what it serves now is diffed against it (DiffSnapshots) and
  // the difference applied as ApplyConfig describes. A load or reload that fails is that alias's
  // state (ModelStatus last_error and failed_at; the old engine keeps serving), listed in
  // summary.failed, and tried again by the next Reconcile; nothing is undone.
  ConfigApplySummary Reconcile(const RegistrySnapshot& target);
  // Reload attempts, oldest first (bounded: ReloadOptions.log_size).
  std::vector<ReloadRecord> ReloadLog() const;
  // The engines an alias has had, oldest first (bounded per alias: ReloadOptions.history_size);
  // with no alias, every alias's. Kept after Remove (a re-registered alias continues).
  std::vector<VersionRecord> VersionHistory(std::string_view alias) const;
  std::vector<VersionRecord> VersionHistory() const;
  // Engines installed over the runtime's life (the global generation counter).
  uint64_t GlobalGeneration() const;
  // Whether model files are being watched (ReloadOptions.watch_model_files and inotify worked).
  bool WatchingModelFiles() const;

  // ---- Providers at run time ----
  // Adds a provider (created with CreateProvider, or given). AlreadyExists for a taken id; the
  // errors of CreateProvider (NotFound for an unknown type, InvalidArgument for bad options).
  Status AddProvider(const ProviderConfig& config);
  Status AddProvider(std::shared_ptr<Provider> provider);
  // Swaps in a new provider under an existing id. The aliases bound to it load on it from now on;
  // loaded ones are reloaded on it now (summary.reloaded; a failed reload leaves the old engine
  // serving and is listed in summary.failed), unloaded ones are listed in summary.updated.
  // NotFound for an unknown id; the errors of CreateProvider.
  Result<ConfigApplySummary> ReplaceProvider(const ProviderConfig& config);
  Result<ConfigApplySummary> ReplaceProvider(std::shared_ptr<Provider> provider);
  // Removes a provider. NotFound; FailedPrecondition while aliases use it (remove them first).
  Status RemoveProvider(std::string_view id);
  bool HasProvider(std::string_view id) const;
  std::vector<std::string> ProviderIds() const;
  // Provider::State of a provider (a remote one's circuit breakers); empty for an unknown id.
  Options ProviderState(std::string_view id) const;

  // Stops what the lifecycle runs on its own (the model file watcher); the runtime's destructor.
  void Stop();

 private:
  std::shared_ptr<internal::RuntimeCore> core_;
  std::unique_ptr<internal::Reconciler> reloads_;
};

}  // namespace modelrt
