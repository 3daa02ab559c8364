// Reconciler: changes what a RuntimeCore serves. It brings the runtime to a catalog snapshot
// (Reconcile: the registry's published one, or a re-read config's), checks a snapshot before it
// is published (Check), and runs hot reloads — from the API, from changed model files
// (FileWatcher), from spec updates (Update) and provider replacements (ReplaceProvider) — keeping
// the reload log. Reconcile, Check, Update and ReplaceProvider live in reconcile.cc.
//
//   Reconciler reconciler(core, ReloadOptions{.watch_model_files = true}, config.pool);
//   MODELRT_RETURN_IF_ERROR(reconciler.Check(*registry->Current(), candidate));
//   ConfigApplySummary done = reconciler.Reconcile(candidate);   // once it is published
//   MODELRT_ASSIGN_OR_RETURN(ReloadRecord r,
//                            reconciler.Reload("chat", std::nullopt, ReloadTrigger::kApi));
//
// Reconcile diffs what the core serves now (its providers created from configs, its aliases'
// specs) against the target with DiffSnapshots — the one diff there is — and applies the
// difference: providers added and swapped first, then aliases removed, added (loaded per their
// warmup), changed (reloaded when loaded and their engine changed, else updated in place), and
// providers dropped last. A load or reload that fails is a state of its alias (ModelStatus
// last_error and failed_at; a failed reload leaves the old engine and spec serving, so the next
// Reconcile tries again), never an undo of the catalog.
//
// A reload: validate the new spec; reserve, load, resize (RuntimeCore::LoadEngine, the load
// sequence loads use too) beside the old engine, which is never evicted for it; swap it in
// (RuntimeCore::CommitReload: a fenced, atomic pool install). Any failure leaves the old engine
// serving; every attempt on a known alias is logged with its outcome, error and duration, and
// counted in modelrt_reloads_total{alias, trigger, outcome} and modelrt_reload_seconds{alias}.
//
// Reloads of one alias run one at a time (a per-alias lock, also taken by Reconcile's and
// Update's in-place updates); reloads of different aliases run concurrently. Reconcile and
// ReplaceProvider calls run one at a time.
//
// Thread-safety: thread-safe. Stop() (and the destructor) stops the file watcher; the core must
// have been shut down first if a file-triggered reload may be loading (Shutdown cancels it).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_watcher.h"
#include "core/thread_annotations.h"
#include "modelrt/catalog.h"
#include "modelrt/registry.h"
#include "modelrt/reload.h"
#include "runtime/reload_log.h"
#include "runtime/runtime_core.h"

namespace modelrt::internal {

class Reconciler {
 public:
  // Registers a spec the way RuntimeLifecycle::Register does (validation, warmup policy).
  using RegisterFn = std::function<Status(ModelSpec)>;

  // Starts the file watcher when options.watch_model_files (a failure to set it up is logged and
  // leaves reloads by API and config working). `pool` is the config the pool was built with.
  Reconciler(std::shared_ptr<RuntimeCore> core, ReloadOptions options, PoolConfig pool);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Reloads `alias` with `spec` (nullopt: its current spec). NotFound for an unknown alias (not
  // logged); otherwise the record, or the error of a failed (and logged) attempt.
  Result<ReloadRecord> Reload(std::string_view alias, std::optional<ModelSpec> spec,
                              ReloadTrigger trigger);
  // Brings the core to `target` (see the file comment). Aliases that fail are listed in
  // summary.failed; `register_spec` adds an alias (ModelRuntime's, without its refusal of a
  // required eager model that fails: here that is the alias's failed state).
  ConfigApplySummary Reconcile(const RegistrySnapshot& target, const RegisterFn& register_spec);
  // Whether `after` can be served, checked before it is published: the providers it adds or
  // changes can be created, and the bindings it adds or changes are accepted by their provider
  // (unknown provider: NotFound; bad options: InvalidArgument, naming the binding).
  Status Check(const RegistrySnapshot& before, const RegistrySnapshot& after) const;
  // What the core serves now: its providers created from a config, and its aliases' specs.
  RegistrySnapshot Serving() const;
  // The pool limits of a config, when they differ from the last applied. Returns whether they did.
  bool ApplyPoolLimits(const PoolConfig& pool);
  // RuntimeLifecycle::Update.
  Status Update(ModelSpec spec, const RegisterFn& register_spec);
  // RuntimeLifecycle::ReplaceProvider: swaps the provider in, then reloads its loaded aliases.
  Result<ConfigApplySummary> ReplaceProvider(RuntimeCore::ProviderSource source);
  std::vector<ReloadRecord> Records() const { return log_.Snapshot(); }
  // Re-reads the model files to watch from the catalog (after Register/Remove/ApplyConfig).
  void RefreshWatches();
  bool watching() const { return watcher_ != nullptr; }
  void Stop();

 private:
  std::shared_ptr<Mutex> AliasLock(const std::string& alias);
  Result<ReloadRecord> ReloadLocked(const std::string& alias, std::optional<ModelSpec> spec,
                                    ReloadTrigger trigger);
  // Runs the load and the swap; fills `record` (generations, sources).
  Status RunReload(const RuntimeCore::ReloadTarget& target, ReloadRecord* record);
  // Gives a registered alias `spec` (same task), with its lock held: reloads it when it is loaded
  // and `new_engine` (engine fields changed, or its provider was replaced), else updates the spec
  // in place. Sets *reloaded to whether an engine was swapped in.
  Status ApplySpecLocked(const ModelSpec& spec, bool new_engine, bool* reloaded);
  // Reconcile's provider passes: before the aliases (adds, replacements) and after them (removals).
  void AddOrReplaceProviders(const RegistrySnapshot& target, const RegistryDiff& diff,
                             ConfigApplySummary* summary) REQUIRES(apply_mu_);
  void RemoveDroppedProviders(const RegistryDiff& diff, ConfigApplySummary* summary)
      REQUIRES(apply_mu_);
  void OnFileChanged(const std::string& path);

  const std::shared_ptr<RuntimeCore> core_;
  const ReloadOptions options_;
  ReloadLog log_;

  Mutex locks_mu_;
  std::map<std::string, std::shared_ptr<Mutex>> alias_locks_ GUARDED_BY(locks_mu_);
  Mutex apply_mu_;  // one Reconcile at a time
  PoolConfig pool_config_ GUARDED_BY(apply_mu_);

  std::unique_ptr<FileWatcher> watcher_;  // null unless watch_model_files
};

}  // namespace modelrt::internal
