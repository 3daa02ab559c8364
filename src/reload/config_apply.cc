// HotReloadCoordinator's configuration changes: ApplyConfig (a re-read config: providers, aliases,
// pool limits), Update (one alias's new spec) and ReplaceProvider. See hot_reload_coordinator.h.
#include <algorithm>
#include <utility>

#include "core/logging.h"
#include "reload/config_diff.h"
#include "reload/hot_reload_coordinator.h"

namespace modelrt::internal {
namespace {

bool SamePool(const PoolConfig& a, const PoolConfig& b) {
  return a.memory_budget_mb == b.memory_budget_mb && a.max_loaded == b.max_loaded &&
         a.idle_ttl_s == b.idle_ttl_s && a.health_check_interval_s == b.health_check_interval_s;
}

bool IsLoaded(const RuntimeCore& core, const std::string& alias) {
  Result<ModelStatus> now = core.Describe(alias);
  return now && now->state == ModelState::kLoaded;
}

}  // namespace

Status HotReloadCoordinator::ApplySpecLocked(const ModelSpec& spec, bool new_engine,
                                             bool* reloaded) {
  *reloaded = false;
  if (new_engine && IsLoaded(*core_, spec.alias)) {
    MODELRT_RETURN_IF_ERROR(ReloadLocked(spec.alias, spec, ReloadTrigger::kConfig).status());
    *reloaded = true;
    return OkStatus();
  }
  return core_->UpdateSpec(spec);  // a new engine (if any) comes with the next load
}

Status HotReloadCoordinator::Update(ModelSpec spec, const RegisterFn& register_spec) {
  MODELRT_ASSIGN_OR_RETURN(ModelSpec current, core_->Spec(spec.alias));
  if (spec.provider.empty()) spec.provider = current.provider;
  if (spec.task != current.task) {
    // Handles are typed by task: the alias goes and comes back. Checked first, so a spec the
    // provider rejects does not cost the alias.
    MODELRT_RETURN_IF_ERROR(core_->Validate(spec));
    {
      std::shared_ptr<Mutex> mu = AliasLock(spec.alias);
      MutexLock lock(*mu);
      MODELRT_RETURN_IF_ERROR(core_->Remove(spec.alias));
    }
    return register_spec(std::move(spec));
  }
  const bool engine = EngineFieldsDiffer(current, spec);
  if (!engine && !SettingsDiffer(current, spec)) return OkStatus();
  std::shared_ptr<Mutex> mu = AliasLock(spec.alias);
  MutexLock lock(*mu);
  bool reloaded = false;
  MODELRT_RETURN_IF_ERROR(ApplySpecLocked(spec, engine, &reloaded));
  if (current.model != spec.model) RefreshWatches();
  return OkStatus();
}

Result<ConfigApplySummary> HotReloadCoordinator::ReplaceProvider(
    RuntimeCore::ProviderSource source) {
  MutexLock apply(apply_mu_);
  const std::string id = source.provider ? source.provider->id() : "";
  MODELRT_ASSIGN_OR_RETURN(std::vector<std::string> aliases,
                           core_->ReplaceProvider(std::move(source)));
  ConfigApplySummary summary;
  summary.providers_replaced.push_back(id);
  for (const std::string& alias : aliases) {
    std::shared_ptr<Mutex> mu = AliasLock(alias);
    MutexLock lock(*mu);
    if (!IsLoaded(*core_, alias)) {
      summary.updated.push_back(alias);  // rebound: its next load uses the new provider
      continue;
    }
    Result<ReloadRecord> r = ReloadLocked(alias, std::nullopt, ReloadTrigger::kConfig);
    if (r) {
      summary.reloaded.push_back(alias);
    } else {
      summary.failed.emplace_back(alias, r.error());
    }
  }
  return summary;
}

void HotReloadCoordinator::AddOrReplaceProviders(const Config& config, ConfigApplySummary* summary,
                                                 std::set<std::string>* rebound) {
  const std::map<std::string, ProviderConfig> known = core_->providers().Configs();
  for (const ProviderConfig& provider : config.providers) {
    const bool exists = core_->HasProvider(provider.id);
    auto it = known.find(provider.id);
    // A provider added as an object (no config) cannot be compared: it stays as it is.
    if (exists && (it == known.end() || SameProviderConfig(it->second, provider))) continue;
    Result<std::shared_ptr<Provider>> created = CreateProvider(provider);
    if (!created) {
      summary->notes.push_back("provider '" + provider.id + "' not " +
                               (exists ? "replaced (the old one stays)" : "added") + ": " +
                               created.error().ToString());
      continue;
    }
    if (!exists) {
      Status s = core_->AddProvider({*created, provider});
      if (s.ok()) {
        summary->providers_added.push_back(provider.id);
      } else {
        summary->notes.push_back("provider '" + provider.id + "' not added: " + s.ToString());
      }
      continue;
    }
    Result<std::vector<std::string>> aliases = core_->ReplaceProvider({*created, provider});
    if (!aliases) {
      summary->notes.push_back("provider '" + provider.id + "' not replaced: " +
                               aliases.error().ToString());
      continue;
    }
    summary->providers_replaced.push_back(provider.id);
    rebound->insert(aliases->begin(), aliases->end());
  }
}

void HotReloadCoordinator::RemoveDroppedProviders(const Config& config,
                                                  ConfigApplySummary* summary) {
  std::set<std::string> wanted;
  for (const ProviderConfig& provider : config.providers) wanted.insert(provider.id);
  for (const auto& [id, provider_config] : core_->providers().Configs()) {
    if (wanted.count(id) != 0) continue;
    Status s = core_->RemoveProvider(id);
    if (s.ok()) {
      summary->providers_removed.push_back(id);
    } else {
      summary->notes.push_back("provider '" + id + "' kept: " + s.ToString());
    }
  }
}

Result<ConfigApplySummary> HotReloadCoordinator::ApplyConfig(const Config& config,
                                                             const RegisterFn& register_spec) {
  MutexLock apply(apply_mu_);
  ConfigApplySummary summary;
  // Providers first, so added and changed aliases find theirs. Aliases of a replaced provider are
  // reloaded in the alias pass below: one whose spec changed too gets one reload, not two.
  std::set<std::string> rebound;
  AddOrReplaceProviders(config, &summary, &rebound);

  std::vector<ModelSpec> current;
  for (const ModelStatus& status : core_->List()) current.push_back(status.spec);
  CatalogDiff diff = DiffCatalog(current, config.models);
  for (const std::string& alias : diff.removed) {
    std::shared_ptr<Mutex> mu = AliasLock(alias);
    MutexLock lock(*mu);
    Status s = core_->Remove(alias);
    if (s.ok()) {
      summary.removed.push_back(alias);
    } else {
      summary.failed.emplace_back(alias, s);
    }
  }
  for (ModelSpec& spec : diff.added) {
    const std::string alias = spec.alias;
    Status s = register_spec(std::move(spec));
    if (s.ok()) {
      summary.added.push_back(alias);
    } else {
      summary.failed.emplace_back(alias, s);
    }
  }
  auto apply_spec = [&](const ModelSpec& spec, bool new_engine) {
    std::shared_ptr<Mutex> mu = AliasLock(spec.alias);
    MutexLock lock(*mu);
    bool reloaded = false;
    Status s = ApplySpecLocked(spec, new_engine, &reloaded);
    if (!s.ok()) {
      summary.failed.emplace_back(spec.alias, s);
    } else {
      (reloaded ? summary.reloaded : summary.updated).push_back(spec.alias);
    }
  };
  for (const ModelSpec& spec : diff.engine_changed) apply_spec(spec, true);
  for (const ModelSpec& spec : diff.settings_changed) {
    apply_spec(spec, rebound.count(spec.alias) != 0);
  }
  for (const std::string& alias : diff.unchanged) {
    Result<ModelSpec> spec = core_->Spec(alias);
    if (rebound.count(alias) != 0 && spec && IsLoaded(*core_, alias)) {
      apply_spec(*spec, true);  // same spec, new provider: a new engine
    } else {
      summary.unchanged.push_back(alias);
    }
  }
  RemoveDroppedProviders(config, &summary);

  if (!SamePool(pool_config_, config.pool)) {
    const EnginePool::Options limits = EnginePool::Options::FromConfig(config.pool);
    core_->pool().SetLimits(limits.memory_budget_bytes, limits.max_loaded, limits.idle_ttl,
                            limits.health_check_interval);
    pool_config_ = config.pool;
    summary.pool_limits_changed = true;
  }
  RefreshWatches();
  Log("reload")->info(
      "applied config {}: {} added, {} removed, {} reloaded, {} updated, {} unchanged, {} failed; "
      "providers: {} added, {} replaced, {} removed",
      config.source, summary.added.size(), summary.removed.size(), summary.reloaded.size(),
      summary.updated.size(), summary.unchanged.size(), summary.failed.size(),
      summary.providers_added.size(), summary.providers_replaced.size(),
      summary.providers_removed.size());
  for (const auto& [alias, status] : summary.failed) {
    Log("reload")->warn("config {}: '{}' not applied: {}", config.source, alias, status.ToString());
  }
  for (const std::string& note : summary.notes) {
    Log("reload")->warn("config {}: {}", config.source, note);
  }
  return summary;
}

}  // namespace modelrt::internal
