// ControlPlane: the model lifecycle of a running server — the versioned registry (persisted in a
// journal), which is the only catalog, the runtime that serves its current snapshot, the config
// file it re-reads on SIGHUP, and the optional watch on that file. The admin API calls it;
// nothing here knows HTTP.
//
//   MODELRT_ASSIGN_OR_RETURN(auto control, ControlPlane::Create({
//       .config = config, .config_path = "modelrt.yaml",
//       .state_path = data_dir + "/registry.jsonl"}));
//   MODELRT_ASSIGN_OR_RETURN(ModelChange added, control->AddModel(spec));   // persisted
//   MODELRT_ASSIGN_OR_RETURN(ConfigReload r, control->ReloadConfigFile()); // SIGHUP
//   control->runtime().Embedding("embed") ...
//
// Every write (model, provider, config re-read) runs one at a time and in two steps:
//   1. publish: the registry checks the change in full before it publishes it (its rules, then
//      the runtime's ValidateChange as the registry's validator: providers that can be created,
//      specs their providers accept), so a change the runtime could not serve is never published;
//   2. reconcile: the runtime is brought to the published snapshot (RuntimeLifecycle::Reconcile). A
//      load that fails there is the alias's state (failed, with the error and time; a previous
//      engine keeps serving), reported in the write's summary, never undone in the registry.
//
// Thread-safety: thread-safe. runtime() and registry() may be used freely; they live as long as
// the ControlPlane. The registry is read-only from outside: every change goes through here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/catalog.h"
#include "modelrt/registry.h"
#include "modelrt/runtime.h"

namespace modelrt::internal {
class FileWatcher;
}  // namespace modelrt::internal

namespace modelrt::control {

struct ControlOptions {
  // The configuration the server starts with (the file, or the embedded demo catalog).
  Config config;
  // The file `config` was read from; "" = the embedded catalog (nothing to re-read or watch).
  std::string config_path;
  // The registry journal, e.g. <data dir>/registry.jsonl; "" = run-time changes are not kept.
  std::string state_path;
};

// What a config re-read did.
struct ConfigReload {
  uint64_t version = 0;        // the registry version it published
  ConfigApplySummary summary;  // from the runtime, plus notes about what needs a restart
};

// What a model write did.
struct ModelChange {
  uint64_t version = 0;        // the registry version it published
  ConfigApplySummary summary;  // the runtime's reconcile (an eager load that failed: `failed`)
};

struct ProviderPut {
  uint64_t version = 0;
  bool created = false;        // false: an existing provider was replaced (or left as it was)
  ConfigApplySummary summary;  // aliases reloaded on a replaced provider, or failed to
};

struct ProviderRemoval {
  uint64_t version = 0;
  std::vector<std::string> removed_bindings;  // with policy cascade
};

class ControlPlane {
 public:
  // Opens the registry (config + journal), builds the runtime from its current snapshot (so
  // run-time changes survive a restart), starts the config watch when config.reload.watch_config.
  // Errors: the registry's (Unavailable: another process holds the journal) and the runtime's.
  static Result<std::unique_ptr<ControlPlane>> Create(ControlOptions options);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  ModelRuntime& runtime() { return *runtime_; }
  const Registry& registry() const { return *registry_; }
  const std::string& config_path() const { return config_path_; }
  bool watching_config() const { return config_watcher_ != nullptr; }

  // Registers an alias. AlreadyExists (an alias or profile of that name); NotFound (unknown
  // provider); InvalidArgument (bad spec, no provider named when several exist). An eager model
  // that then fails to load stays registered, failed (summary.failed, ModelStatus.last_error).
  Result<ModelChange> AddModel(ModelSpec spec);
  // NotFound; FailedPrecondition when a profile uses it.
  Result<ModelChange> RemoveModel(const std::string& alias);
  // Reloads an alias with `spec` (its current spec, changed), or its current spec when nullopt.
  // A changed spec is saved in the registry once the reload succeeded. Errors: the reload's (the
  // old engine keeps serving).
  Result<ReloadRecord> ReloadModel(const std::string& alias, std::optional<ModelSpec> spec);

  // Creates or replaces a provider. InvalidArgument (bad fields, unknown type, options its type
  // rejects).
  Result<ProviderPut> PutProvider(ProviderConfig provider);
  // NotFound; FailedPrecondition when `policy` refuses (the message lists the referrers).
  Result<ProviderRemoval> RemoveProvider(const std::string& id, RemovalPolicy policy);

  // Re-reads the config file and applies the difference (Registry::Rebase, then the runtime
  // follows). FailedPrecondition for the embedded catalog; InvalidArgument for a file that does
  // not load (nothing is applied). Logs what it did.
  Result<ConfigReload> ReloadConfigFile();

 private:
  ControlPlane(Config config, std::string config_path);
  // The config file's settings (the last one applied), for rebases.
  Config FileSettings() const;
  // Step 2 of a write: the runtime follows the registry's current snapshot. `settings`: a config
  // re-read's, whose pool limits apply too.
  ConfigApplySummary ReconcileRuntime(const Config* settings = nullptr) REQUIRES(write_mu_);
  // The provider a spec that names none gets: the only one, else "local" when it exists.
  Result<std::string> DefaultProvider(const RegistrySnapshot& snapshot) const;
  void StartConfigWatch(const ReloadConfig& reload);

  const std::string config_path_;
  Mutex write_mu_;  // one write (model, provider, config re-read) at a time
  mutable Mutex settings_mu_;
  Config file_settings_ GUARDED_BY(settings_mu_);

  // Destroyed in reverse: the watcher stops first, the runtime goes before the registry.
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<ModelRuntime> runtime_;
  std::unique_ptr<internal::FileWatcher> config_watcher_;
  uint64_t replica_changes_ = 0;  // the subscription that serves other replicas' changes
};

}  // namespace modelrt::control
