// Reconciler's catalog changes: Reconcile (a snapshot to serve), Check (before it is published),
// Update (one alias's new spec) and ReplaceProvider. See reconciler.h.
#include <algorithm>
#include <map>
#include <utility>

#include "core/logging.h"
#include "registry/registry_json.h"
#include "runtime/deployment_set.h"
#include "runtime/reconciler.h"

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

// The fields an engine is built from: a change needs a new engine. The rest (timeouts, retry,
// pin, keep-alive, warmup, required) apply in place.
bool EngineFieldsDiffer(const ModelSpec& a, const ModelSpec& b) {
  return a.provider != b.provider || a.model != b.model || a.options != b.options ||
         a.deployments != b.deployments;
}

bool Contains(const std::vector<std::string>& sorted, const std::string& key) {
  return std::binary_search(sorted.begin(), sorted.end(), key);
}

}  // namespace

RegistrySnapshot Reconciler::Serving() const {
  RegistrySnapshot now;
  for (auto& [id, config] : core_->providers().Configs()) now.providers.emplace(id, config);
  for (const ModelStatus& status : core_->List())
    now.bindings.emplace(status.spec.alias, status.spec);
  return now;
}

Status Reconciler::Check(const RegistrySnapshot& before, const RegistrySnapshot& after) const {
  const RegistryDiff diff = DiffSnapshots(before, after);
  // Providers the change creates, tried once here: a bad type or option never gets published.
  std::map<std::string, std::shared_ptr<Provider>> trial;
  auto create = [&](const std::string& id) -> Status {
    Result<std::shared_ptr<Provider>> created = CreateProvider(after.providers.at(id));
    if (!created) {
      return InvalidArgumentError("provider '" + id + "': " + created.error().message());
    }
    trial[id] = *std::move(created);
    return OkStatus();
  };
  for (const std::string& id : diff.providers_added) MODELRT_RETURN_IF_ERROR(create(id));
  for (const std::string& id : diff.providers_changed) MODELRT_RETURN_IF_ERROR(create(id));
  auto check = [&](const std::string& alias) -> Status {
    const ModelSpec& spec = after.bindings.at(alias);
    auto it = trial.find(spec.provider);
    std::shared_ptr<Provider> provider =
        it != trial.end() ? it->second : core_->providers().Find(spec.provider);
    if (provider == nullptr) {
      return NotFoundError(OriginOf(spec) + ".provider: unknown provider '" + spec.provider + "'");
    }
    Status valid = provider->Validate(spec);
    if (!valid.ok()) return valid.WithPrefix(OriginOf(spec));
    return ValidateDeployments(spec, [&](const std::string& id) {
      auto made = trial.find(id);
      return made != trial.end() ? made->second : core_->providers().Find(id);
    });
  };
  for (const std::string& alias : diff.bindings_added) MODELRT_RETURN_IF_ERROR(check(alias));
  for (const std::string& alias : diff.bindings_changed) MODELRT_RETURN_IF_ERROR(check(alias));
  return OkStatus();
}

bool Reconciler::ApplyPoolLimits(const PoolConfig& pool) {
  MutexLock apply(apply_mu_);
  if (SamePool(pool_config_, pool)) return false;
  const PoolOptions limits = PoolOptions::FromConfig(pool);
  core_->pool().SetLimits(limits.memory_budget_bytes, limits.max_loaded, limits.idle_ttl,
                          limits.health_check_interval);
  pool_config_ = pool;
  return true;
}

Status Reconciler::ApplySpecLocked(const ModelSpec& spec, bool new_engine, bool* reloaded) {
  *reloaded = false;
  if (new_engine && IsLoaded(*core_, spec.alias)) {
    MODELRT_RETURN_IF_ERROR(ReloadLocked(spec.alias, spec, ReloadTrigger::kConfig).status());
    *reloaded = true;
    return OkStatus();
  }
  return core_->UpdateSpec(spec);  // a new engine (if any) comes with the next load
}

Status Reconciler::Update(ModelSpec spec, const RegisterFn& register_spec) {
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
  if (!engine && registry::SameBinding(current, spec)) return OkStatus();
  std::shared_ptr<Mutex> mu = AliasLock(spec.alias);
  MutexLock lock(*mu);
  bool reloaded = false;
  MODELRT_RETURN_IF_ERROR(ApplySpecLocked(spec, engine, &reloaded));
  if (current.model != spec.model) RefreshWatches();
  return OkStatus();
}

Result<ConfigApplySummary> Reconciler::ReplaceProvider(RuntimeCore::ProviderSource source) {
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

void Reconciler::AddOrReplaceProviders(const RegistrySnapshot& target, const RegistryDiff& diff,
                                       ConfigApplySummary* summary) {
  auto create = [&](const std::string& id, bool replace) {
    const ProviderConfig& config = target.providers.at(id);
    Result<std::shared_ptr<Provider>> created = CreateProvider(config);
    Status status = created.status();
    if (created) {
      status = replace ? core_->ReplaceProvider({*created, config}).status()
                       : core_->AddProvider({*created, config});
    }
    if (status.ok()) {
      (replace ? summary->providers_replaced : summary->providers_added).push_back(id);
    } else {
      summary->notes.push_back("provider '" + id + "' not " +
                               (replace ? "replaced (the old one stays)" : "added") + ": " +
                               status.ToString());
    }
  };
  for (const std::string& id : diff.providers_added) {
    // A provider added as an object (it has no config) stays as it is.
    if (!core_->HasProvider(id)) create(id, false);
  }
  for (const std::string& id : diff.providers_changed) create(id, true);
}

void Reconciler::RemoveDroppedProviders(const RegistryDiff& diff, ConfigApplySummary* summary) {
  for (const std::string& id : diff.providers_removed) {
    Status s = core_->RemoveProvider(id);
    if (s.ok()) {
      summary->providers_removed.push_back(id);
    } else {
      summary->notes.push_back("provider '" + id + "' kept: " + s.ToString());
    }
  }
}

ConfigApplySummary Reconciler::Reconcile(const RegistrySnapshot& target,
                                         const RegisterFn& register_spec) {
  MutexLock apply(apply_mu_);
  const RegistrySnapshot now = Serving();
  const RegistryDiff diff = DiffSnapshots(now, target);
  ConfigApplySummary summary;
  // Providers first, so added and changed aliases find theirs. DiffSnapshots counts the aliases
  // of a replaced provider as changed: one whose spec changed too gets one reload, not two.
  AddOrReplaceProviders(target, diff, &summary);
  auto remove = [&](const std::string& alias) {
    std::shared_ptr<Mutex> mu = AliasLock(alias);
    MutexLock lock(*mu);
    return core_->Remove(alias);
  };
  auto add = [&](const std::string& alias) {
    Status s = register_spec(target.bindings.at(alias));
    if (s.ok()) {
      summary.added.push_back(alias);
    } else {
      summary.failed.emplace_back(alias, s);
    }
  };
  for (const std::string& alias : diff.bindings_removed) {
    Status s = remove(alias);
    if (s.ok()) {
      summary.removed.push_back(alias);
    } else {
      summary.failed.emplace_back(alias, s);
    }
  }
  for (const std::string& alias : diff.bindings_added) add(alias);
  for (const std::string& alias : diff.bindings_changed) {
    const ModelSpec& before = now.bindings.at(alias);
    const ModelSpec& after = target.bindings.at(alias);
    if (before.task != after.task) {
      // Handles are typed by task: the alias goes and comes back.
      Status s = remove(alias);
      if (s.ok()) {
        summary.removed.push_back(alias);
        add(alias);
      } else {
        summary.failed.emplace_back(alias, s);
      }
      continue;
    }
    const bool rebound =
        std::find(summary.providers_replaced.begin(), summary.providers_replaced.end(),
                  after.provider) != summary.providers_replaced.end();
    const bool new_engine = EngineFieldsDiffer(before, after) || rebound;
    std::shared_ptr<Mutex> mu = AliasLock(alias);
    MutexLock lock(*mu);
    bool reloaded = false;
    Status s = ApplySpecLocked(after, new_engine, &reloaded);
    if (!s.ok()) {
      summary.failed.emplace_back(alias, s);
    } else {
      (reloaded ? summary.reloaded : summary.updated).push_back(alias);
    }
  }
  for (const auto& [alias, spec] : target.bindings) {
    if (now.bindings.count(alias) != 0 && !Contains(diff.bindings_changed, alias)) {
      summary.unchanged.push_back(alias);
    }
  }
  RemoveDroppedProviders(diff, &summary);
  RefreshWatches();
  Log("reload")->info(
      "reconciled to registry version {}: {} added, {} removed, {} reloaded, {} updated, "
      "{} unchanged, {} failed; providers: {} added, {} replaced, {} removed",
      target.version, summary.added.size(), summary.removed.size(), summary.reloaded.size(),
      summary.updated.size(), summary.unchanged.size(), summary.failed.size(),
      summary.providers_added.size(), summary.providers_replaced.size(),
      summary.providers_removed.size());
  for (const auto& [alias, status] : summary.failed) {
    Log("reload")->warn("'{}' not applied: {}", alias, status.ToString());
  }
  for (const std::string& note : summary.notes) Log("reload")->warn("{}", note);
  return summary;
}

}  // namespace modelrt::internal
