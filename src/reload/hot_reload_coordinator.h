// HotReloadCoordinator: runs reloads against a RuntimeCore — from the API, from changed model files
// (FileWatcher), from a re-read config (ApplyConfig), from spec updates (Update) and provider
// replacements (ReplaceProvider) — and keeps the reload log. ApplyConfig, Update and
// ReplaceProvider live in config_apply.cc.
//
//   HotReloadCoordinator reloads(core, ReloadOptions{.watch_model_files = true}, config.pool);
//   MODELRT_ASSIGN_OR_RETURN(ReloadRecord r,
//                            reloads.Reload("chat", std::nullopt, ReloadTrigger::kApi));
//
// A reload: validate the new spec; reserve room in the pool for the new engine beside the old one
// (the old is never evicted for it; waits up to the load timeout); load and warm it up; resize the
// room to its reported size; swap it in (RuntimeCore::CommitReload: a fenced, atomic pool install).
// Any failure leaves the old engine serving; every attempt on a known alias is logged with its
// outcome, error and duration, and counted in modelrt_reloads_total{alias, trigger, outcome} and
// modelrt_reload_seconds{alias}.
//
// Reloads of one alias run one at a time (a per-alias lock, also taken by ApplyConfig's and
// Update's in-place updates); reloads of different aliases run concurrently. ApplyConfig and
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

#include "core/thread_annotations.h"
#include "modelrt/catalog.h"
#include "modelrt/reload.h"
#include "reload/file_watcher.h"
#include "reload/reload_log.h"
#include "runtime/runtime_core.h"

namespace modelrt::internal {

class HotReloadCoordinator {
 public:
  // Registers a spec the way ModelRuntime::Register does (validation, warmup policy).
  using RegisterFn = std::function<Status(ModelSpec)>;

  // Starts the file watcher when options.watch_model_files (a failure to set it up is logged and
  // leaves reloads by API and config working). `pool` is the config the pool was built with.
  HotReloadCoordinator(std::shared_ptr<RuntimeCore> core, ReloadOptions options, PoolConfig pool);
  ~HotReloadCoordinator();
  HotReloadCoordinator(const HotReloadCoordinator&) = delete;
  HotReloadCoordinator& operator=(const HotReloadCoordinator&) = delete;

  // Reloads `alias` with `spec` (nullopt: its current spec). NotFound for an unknown alias (not
  // logged); otherwise the record, or the error of a failed (and logged) attempt.
  Result<ReloadRecord> Reload(std::string_view alias, std::optional<ModelSpec> spec,
                              ReloadTrigger trigger);
  // Diffs `config` (providers, models, pool) against the runtime and applies it (see
  // ModelRuntime::ApplyConfig). Aliases that fail are listed in the summary; the call itself fails
  // only for a config that cannot be applied at all.
  Result<ConfigApplySummary> ApplyConfig(const Config& config, const RegisterFn& register_spec);
  // ModelRuntime::Update.
  Status Update(ModelSpec spec, const RegisterFn& register_spec);
  // ModelRuntime::ReplaceProvider: swaps the provider in, then reloads its loaded aliases.
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
  // ApplyConfig's provider passes: before the aliases (adds, replacements; fills `rebound` with the
  // aliases of replaced providers) and after them (removals).
  void AddOrReplaceProviders(const Config& config, ConfigApplySummary* summary,
                             std::set<std::string>* rebound) REQUIRES(apply_mu_);
  void RemoveDroppedProviders(const Config& config, ConfigApplySummary* summary)
      REQUIRES(apply_mu_);
  void OnFileChanged(const std::string& path);

  const std::shared_ptr<RuntimeCore> core_;
  const ReloadOptions options_;
  ReloadLog log_;

  Mutex locks_mu_;
  std::map<std::string, std::shared_ptr<Mutex>> alias_locks_ GUARDED_BY(locks_mu_);
  Mutex apply_mu_;  // one ApplyConfig at a time
  PoolConfig pool_config_ GUARDED_BY(apply_mu_);

  std::unique_ptr<FileWatcher> watcher_;  // null unless watch_model_files
};

}  // namespace modelrt::internal
