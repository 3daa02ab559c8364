// RegistryRuntimeSync: keeps a ModelRuntime in step with a Registry. It listens to the registry
// and applies each published change to the runtime, in version order:
//
//   register/replace provider  → ModelRuntime::AddProvider / ReplaceProvider (loaded aliases of a
//                                replaced provider are reloaded on the new one)
//   remove provider            → Remove of the cascaded aliases, then RemoveProvider
//   upsert binding             → Register (new alias) or Update (changed spec: reload if loaded)
//   remove binding             → Remove
//   upsert/remove profile      → nothing (the server reads profiles from the registry)
//   rebase (a re-read config)  → ApplyConfig(file settings + the new snapshot's contents)
//
// Steps are idempotent (removing what is gone, adding what is there already), so a change that
// reaches a runtime that already has it is harmless. What each version did is kept for a while,
// for the writer that published it (OutcomeOf): the registry delivers a change before the write
// returns, so the writer can report the runtime's verdict, and roll back when it refused.
//
//   RegistryRuntimeSync sync(*registry, *runtime, [&] { return file_config; });
//   MODELRT_ASSIGN_OR_RETURN(uint64_t v, registry->UpsertBinding(spec));
//   RegistryRuntimeSync::Outcome outcome = sync.OutcomeOf(v);   // outcome.status
//
// Thread-safety: thread-safe. The registry and the runtime must outlive it; the destructor
// unsubscribes (and waits out a delivery in progress).
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "core/thread_annotations.h"
#include "modelrt/registry.h"
#include "modelrt/runtime.h"

namespace modelrt::control {

class RegistryRuntimeSync {
 public:
  // The config file's settings (pool limits) that a rebase applies with the snapshot's contents.
  using FileSettings = std::function<Config()>;

  struct Outcome {
    Status status;               // why the runtime refused the change; OK when it took it
    ConfigApplySummary summary;  // per alias, for provider replacements and rebases
  };

  RegistryRuntimeSync(Registry& registry, ModelRuntime& runtime, FileSettings file_settings);
  ~RegistryRuntimeSync();
  RegistryRuntimeSync(const RegistryRuntimeSync&) = delete;
  RegistryRuntimeSync& operator=(const RegistryRuntimeSync&) = delete;

  // What applying `version` did. Kept for the last kKeep versions; older ones (and versions this
  // object never saw) answer Internal.
  Outcome OutcomeOf(uint64_t version) const;

  // The config a runtime built from `snapshot` runs: `settings` (server, pool, reload) with the
  // snapshot's providers, bindings and profiles.
  static Config EffectiveConfig(Config settings, const RegistrySnapshot& snapshot);

  static constexpr size_t kKeep = 64;

 private:
  void OnChange(const RegistryChange& change, const RegistrySnapshot& after);
  Outcome Apply(const RegistryChange& change, const RegistrySnapshot& after);

  Registry& registry_;
  ModelRuntime& runtime_;
  const FileSettings file_settings_;
  uint64_t subscription_ = 0;

  mutable Mutex mu_;
  std::map<uint64_t, Outcome> outcomes_ GUARDED_BY(mu_);
};

}  // namespace modelrt::control
