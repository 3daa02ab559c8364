#include "runtime/reconciler.h"

#include <filesystem>
#include <utility>

#include "core/logging.h"

namespace modelrt::internal {
Reconciler::Reconciler(std::shared_ptr<RuntimeCore> core, ReloadOptions options, PoolConfig pool)
    : core_(std::move(core)), options_(options), log_(options.log_size), pool_config_(pool) {
  if (!options_.watch_model_files) return;
  auto watcher =
      FileWatcher::Create({.debounce = options_.watch_debounce,
                           .on_change = [this](const std::string& path) { OnFileChanged(path); }});
  if (!watcher) {
    Log("reload")->error("model files are not watched: {}", watcher.error().ToString());
    return;
  }
  watcher_ = *std::move(watcher);
  RefreshWatches();
}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Stop() {
  if (watcher_) watcher_->Stop();
}

std::shared_ptr<Mutex> Reconciler::AliasLock(const std::string& alias) {
  MutexLock lock(locks_mu_);
  auto& mu = alias_locks_[alias];
  if (!mu) mu = std::make_shared<Mutex>();
  return mu;
}

Result<ReloadRecord> Reconciler::Reload(std::string_view alias, std::optional<ModelSpec> spec,
                                        ReloadTrigger trigger) {
  const std::string name(alias);
  std::shared_ptr<Mutex> mu = AliasLock(name);
  MutexLock lock(*mu);
  return ReloadLocked(name, std::move(spec), trigger);
}

Result<ReloadRecord> Reconciler::ReloadLocked(const std::string& alias,
                                              std::optional<ModelSpec> spec,
                                              ReloadTrigger trigger) {
  const auto start = Clock::now();
  ReloadRecord record;
  record.alias = alias;
  record.trigger = trigger;
  record.started_at = std::chrono::system_clock::now();
  Result<RuntimeCore::ReloadTarget> target = core_->PrepareReload(alias, std::move(spec));
  Status status;
  if (!target) {
    if (target.error().code() == StatusCode::kNotFound && !core_->Contains(alias)) {
      return target.error();  // not an alias: nothing was attempted
    }
    status = target.error();
  } else {
    record.old_generation = target->old_generation;
    record.old_source = target->old_spec.model;
    record.new_source = target->new_spec.model;
    status = RunReload(*target, &record);
  }
  record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  record.ok = status.ok();
  if (!status.ok()) record.error = status.ToString();
  record = log_.Add(std::move(record));
  const Labels labels = {{"alias", alias},
                         {"trigger", std::string(ToString(trigger))},
                         {"outcome", record.ok ? "success" : "failure"}};
  core_->metrics()
      .GetCounter("modelrt_reloads_total", "Hot reloads by outcome", labels)
      .Increment();
  core_->metrics()
      .GetHistogram("modelrt_reload_seconds", "Hot reload time in seconds", {{"alias", alias}})
      .Observe(std::chrono::duration<double>(record.duration).count());
  if (record.ok) {
    Log("reload")->info("reloaded '{}' ({}): generation {} -> {} in {} ms", alias,
                        ToString(trigger), record.old_generation, record.new_generation,
                        record.duration.count());
    if (record.old_source != record.new_source) RefreshWatches();
    return record;
  }
  core_->RecordReloadFailure(alias, status);
  Log("reload")->warn("reload of '{}' ({}) failed after {} ms; generation {} keeps serving: {}",
                      alias, ToString(trigger), record.duration.count(), record.old_generation,
                      record.error);
  return status;
}

Status Reconciler::RunReload(const RuntimeCore::ReloadTarget& target, ReloadRecord* record) {
  const ModelSpec& spec = target.new_spec;
  CallContext ctx = core_->LoadContext(spec.load_timeout, "reload:" + spec.alias);
  // Room beside the old engine, which is never evicted for it: both must fit for a moment.
  const int64_t estimate =
      core_->EstimateBytes(target.new_key, spec, target.old_spec, *target.provider);
  MODELRT_ASSIGN_OR_RETURN(
      RuntimeCore::LoadedEngine engine,
      core_->LoadEngine(target.new_key, estimate, spec, *target.provider, ctx));
  if (ctx.expired()) {
    return DeadlineExceededError("loading the new engine exceeded the load timeout of " +
                                 std::to_string(spec.load_timeout.count()) + " ms");
  }
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  MODELRT_ASSIGN_OR_RETURN(
      EnginePool::Installed installed,
      core_->CommitReload(target, std::move(engine.room), std::move(engine.model)));
  record->new_generation = installed.generation;
  return OkStatus();
}

void Reconciler::RefreshWatches() {
  if (!watcher_) return;
  std::vector<std::string> files;
  for (const ModelStatus& status : core_->List()) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(status.spec.model, ec)) files.push_back(status.spec.model);
  }
  Status s = watcher_->SetFiles(files);
  if (!s.ok()) Log("reload")->warn("watching model files: {}", s.ToString());
}

void Reconciler::OnFileChanged(const std::string& path) {
  for (const ModelStatus& status : core_->List()) {
    if (FileWatcher::Normalize(status.spec.model) != path) continue;
    // Not loaded: nothing to swap; its next load reads the new file anyway.
    if (status.state != ModelState::kLoaded) continue;
    Result<ReloadRecord> r = Reload(status.spec.alias, std::nullopt, ReloadTrigger::kFileChange);
    (void)r;  // logged by Reload
  }
}

}  // namespace modelrt::internal
