// RuntimeCore: the alias table, states, calls, unload/remove and the reload primitives. Loading
// (the single-flight loader and its threads) is in runtime_loads.cc.
#include "runtime/runtime_core.h"

#include <utility>

#include "core/logging.h"
#include "runtime/deployment_set.h"
#include "runtime/serial_queue.h"

namespace modelrt::internal {
namespace {

// Checkouts per call: a freshly loaded engine can be evicted (or superseded by a reload) before the
// caller gets to it; past this many rounds the caller gets Unavailable.
constexpr int kMaxAcquireRounds = 4;
// How long Shutdown waits for cancelled asynchronous calls to let go (an engine answers a cancel
// within one decode step; this only bounds a stuck one).
constexpr std::chrono::seconds kAsyncDrain{30};

}  // namespace

std::optional<std::chrono::milliseconds> KeepAliveOf(const ModelSpec& spec) {
  if (!spec.keep_alive_s) return std::nullopt;
  if (*spec.keep_alive_s < 0) return std::chrono::milliseconds(-1);  // never by TTL
  return std::chrono::seconds(*spec.keep_alive_s);
}

EngineOptions RuntimeCore::EngineOptionsOf(const ModelSpec& spec, const Model& model) const {
  EngineOptions options;
  options.pinned = spec.pinned;
  options.keep_alive = KeepAliveOf(spec);
  options.description = model.Info().description;
  options.source = spec.model;
  return options;
}

std::string OriginOf(const ModelSpec& spec) {
  return spec.origin.empty() ? "model '" + spec.alias + "'" : spec.origin;
}

EngineKey KeyOf(const ModelSpec& spec, const Provider& provider) {
  return EngineKey{spec.alias, provider.Estimate(spec).device};
}

RuntimeCore::Lease::Lease(Lease&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      alias_(std::move(other.alias_)),
      lease_(std::move(other.lease_)) {}

std::shared_ptr<const void> RuntimeCore::Lease::CheckIn() {
  if (core_ != nullptr) std::exchange(core_, nullptr)->Release(alias_);
  return lease_.CheckIn();
}

RuntimeCore::Lease::~Lease() {
  if (core_ != nullptr) core_->Release(alias_);
  // lease_ ends after: the pool hears of the release with no runtime lock held.
}

RuntimeCore::RuntimeCore(std::vector<ProviderSource> providers,
                         std::shared_ptr<MetricsRegistry> metrics, EnginePool::Options pool_options,
                         size_t history_size)
    : metrics_(std::move(metrics)),
      history_(history_size),
      flights_([this](const std::string& alias, uint64_t id) { OnLoadAbandoned(alias, id); }) {
  for (ProviderSource& source : providers) {
    Status added = providers_.Add(std::move(source.provider), std::move(source.config));
    if (!added.ok()) Log("runtime")->error("{}", added.ToString());  // the Builder checked ids
  }
  if (!pool_options.metrics) pool_options.metrics = metrics_;
  auto pool = EnginePool::Create(std::move(pool_options));
  if (!pool) {  // the Builder validates the options first; this is only a fallback
    Log("runtime")->error("bad pool options ({}); using the defaults", pool.error().ToString());
    EnginePool::Options defaults;
    defaults.metrics = metrics_;
    pool = EnginePool::Create(std::move(defaults));
  }
  pool_ = *std::move(pool);
}

RuntimeCore::~RuntimeCore() { Shutdown(); }

void RuntimeCore::Shutdown() {
  loads_cancel_->Cancel();
  calls_cancel_->Cancel();
  // Background warmups wait on loads; once the flag stops the providers (and room waits), both
  // groups drain.
  background_.JoinAll();
  loads_.JoinAll();
  waiters_.JoinAll();  // cancelled above (calls_cancel_), they stop waiting for loads
  // Cancelled engines answer at their next step. The queue's own thread cannot wait for what
  // is queued behind it (only reached if the last handle is dropped there, after the runtime).
  if (!SerialQueue::AfterCalls().OnQueueThread()) {
    MutexLock lock(async_mu_);
    if (!async_cv_.wait_for(lock.native(), kAsyncDrain,
                            [&]() REQUIRES(async_mu_) { return async_calls_ == 0; })) {
      Log("runtime")->warn("{} asynchronous call(s) still running at shutdown", async_calls_);
    }
  }
  pool_->Shutdown();
}

uint64_t RuntimeCore::AsyncCallStarted(const std::shared_ptr<CancelSignal>& cancel) {
  {
    MutexLock lock(async_mu_);
    ++async_calls_;
  }
  if (cancel == nullptr) return 0;
  return calls_cancel_->OnCancel([cancel] { cancel->Cancel(); });
}

void RuntimeCore::AsyncCallEnded(uint64_t key) {
  calls_cancel_->Forget(key);
  MutexLock lock(async_mu_);
  if (--async_calls_ == 0) async_cv_.notify_all();
}

// ---- The alias table ----------------------------------------------------------------------------

std::shared_ptr<const AliasMetrics> RuntimeCore::MetricsFor(const ModelSpec& spec) {
  const Labels labels = {{"alias", spec.alias}, {"task", std::string(ToString(spec.task))}};
  auto m = std::make_shared<AliasMetrics>();
  m->calls = &metrics_->GetCounter("modelrt_model_calls_total", "Model calls by alias", labels);
  m->call_seconds = &metrics_->GetHistogram(
      "modelrt_model_call_seconds", "Model call latency in seconds, retries included", labels);
  m->retries = &metrics_->GetCounter("modelrt_model_retries_total", "Retried model call attempts",
                                     {{"alias", spec.alias}});
  if (spec.task == Task::kGenerate) {
    const Labels alias = {{"alias", spec.alias}};
    m->prompt_tokens = &metrics_->GetCounter("modelrt_prompt_tokens_total",
                                             "Prompt tokens of generations", alias);
    m->cached_prompt_tokens = &metrics_->GetCounter(
        "modelrt_prompt_cached_tokens_total",
        "Prompt tokens whose KV was reused from an earlier request (prompt cache)", alias);
    m->prompt_cache_hit_ratio = &metrics_->GetGauge(
        "modelrt_prompt_cache_hit_ratio", "cached prompt tokens / prompt tokens", alias);
  }
  return m;
}

void RecordUsage(const AliasMetrics& metrics, const GenerateResult& result) {
  if (!metrics.prompt_tokens) return;
  metrics.prompt_tokens->Increment(static_cast<double>(result.prompt_tokens));
  metrics.cached_prompt_tokens->Increment(static_cast<double>(result.cached_tokens));
  const double prompt = metrics.prompt_tokens->Value();
  if (prompt > 0) metrics.prompt_cache_hit_ratio->Set(metrics.cached_prompt_tokens->Value() / prompt);
}

Status RuntimeCore::Validate(const ModelSpec& spec) const {
  const std::string origin = OriginOf(spec);
  if (spec.alias.empty()) return InvalidArgumentError(origin + ".alias: must not be empty");
  std::shared_ptr<Provider> provider = providers_.Find(spec.provider);
  if (provider == nullptr) {
    return NotFoundError(origin + ".provider: unknown provider '" + spec.provider + "'");
  }
  Status valid = provider->Validate(spec);
  if (!valid.ok()) return valid.WithPrefix(origin);
  return ValidateDeployments(spec, [this](const std::string& id) { return providers_.Find(id); });
}

Status RuntimeCore::AddSpec(const ModelSpec& spec) {
  const std::string origin = OriginOf(spec);
  MODELRT_RETURN_IF_ERROR(Validate(spec));
  std::shared_ptr<Provider> provider = providers_.Find(spec.provider);
  if (provider == nullptr) {  // removed since Validate
    return NotFoundError(origin + ".provider: unknown provider '" + spec.provider + "'");
  }
  auto metrics = MetricsFor(spec);
  MutexLock lock(mu_);
  if (entries_.count(spec.alias) > 0) {
    return AlreadyExistsError(origin + ": alias '" + spec.alias + "' is already registered");
  }
  Entry entry;
  entry.spec = std::make_shared<const ModelSpec>(spec);
  entry.key = KeyOf(spec, *provider);
  entry.provider = std::move(provider);
  entry.metrics = std::move(metrics);
  entry.epoch = ++next_epoch_;
  // An alias registered again continues its generations (clients see them only go up).
  entry.generation = pool_->Describe(entry.key).last_generation;
  entries_.emplace(spec.alias, std::move(entry));
  return OkStatus();
}

Status RuntimeCore::Remove(std::string_view alias) {
  EngineKey key;
  const uint64_t fence = ++next_epoch_;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
    key = it->second.key;
    entries_.erase(it);
  }
  pool_->Fence(key, fence);  // a load in flight for the alias must not install
  pool_->Evict(key, EvictionReason::kManual);
  Log("runtime")->info("removed '{}'", alias);
  return OkStatus();
}

bool RuntimeCore::Contains(std::string_view alias) const {
  MutexLock lock(mu_);
  return entries_.find(alias) != entries_.end();
}

std::vector<std::string> RuntimeCore::Aliases() const {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [alias, entry] : entries_) out.push_back(alias);
  return out;
}

Result<ModelSpec> RuntimeCore::Spec(std::string_view alias) const {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
  return *it->second.spec;
}

Result<RuntimeCore::CallSetup> RuntimeCore::PrepareCall(std::string_view alias) const {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
  return CallSetup{it->second.spec, it->second.metrics};
}

ModelStatus RuntimeCore::StatusOf(const Entry& entry, std::shared_ptr<Model>* live_model) const {
  KeyStatus engines = pool_->Describe(entry.key);  // read-only: fine under mu_
  if (live_model) *live_model = std::move(engines.live_model);
  ModelStatus status;
  status.spec = *entry.spec;
  if (entry.loading_flight != 0) {
    status.state = ModelState::kLoading;
  } else if (engines.live) {
    status.state = ModelState::kLoaded;
  } else if (entry.failed) {
    status.state = ModelState::kFailed;
  } else if (engines.draining > 0) {
    status.state = ModelState::kDraining;
  } else {
    status.state = ModelState::kUnloaded;
  }
  status.last_error = entry.last_error;
  status.failed_at = entry.failed_at;
  if (engines.live) status.info = entry.info;
  status.in_flight = engines.in_flight;
  status.device = entry.key.device;
  status.generation = entry.generation;
  status.last_used = entry.last_used;
  return status;
}

std::vector<ModelStatus> RuntimeCore::List() const {
  std::vector<ModelStatus> out;
  std::vector<std::shared_ptr<Model>> live;
  {
    MutexLock lock(mu_);
    out.reserve(entries_.size());
    live.resize(entries_.size());
    size_t i = 0;
    for (const auto& [alias, entry] : entries_) out.push_back(StatusOf(entry, &live[i++]));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (live[i]) out[i].occupancy = live[i]->Occupancy();
  }
  return out;
}

Result<ModelStatus> RuntimeCore::Describe(std::string_view alias) const {
  std::shared_ptr<Model> live;
  ModelStatus status;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
    status = StatusOf(it->second, &live);
  }
  if (live) status.occupancy = live->Occupancy();
  return status;
}

// ---- Unload and calls ---------------------------------------------------------------------------

Status RuntimeCore::Unload(std::string_view alias) {
  EngineKey key;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
    Entry& entry = it->second;
    key = entry.key;
    if (entry.loading_flight == 0) entry.failed = false;  // back to unloaded
  }
  // In-flight calls hold the engine: it drains, and is freed after the last of them.
  if (pool_->Evict(key, EvictionReason::kManual)) Log("runtime")->info("unloaded '{}'", alias);
  return OkStatus();
}

Result<std::optional<RuntimeCore::Lease>> RuntimeCore::TryAcquire(std::string_view alias_view) {
  const std::string alias(alias_view);
  EngineKey key;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + alias + "'");
    key = it->second.key;
  }
  Result<EnginePool::Lease> lease = pool_->Checkout(key, /*count=*/true);
  if (!lease) return std::optional<Lease>();
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + alias + "'");
  it->second.last_used = std::chrono::system_clock::now();
  return std::optional<Lease>(Lease(this, alias, *std::move(lease)));
}

Result<RuntimeCore::Lease> RuntimeCore::Acquire(std::string_view alias_view, const CallContext& ctx,
                                                bool counted) {
  const std::string alias(alias_view);
  for (int round = 0;; ++round) {
    EngineKey key;
    {
      MutexLock lock(mu_);
      auto it = entries_.find(alias);
      if (it == entries_.end()) return NotFoundError("unknown model '" + alias + "'");
      key = it->second.key;
    }
    // Only the first look counts as a pool hit or miss; later ones follow our own load.
    Result<EnginePool::Lease> lease = pool_->Checkout(key, /*count=*/round == 0 && !counted);
    if (lease) {
      MutexLock lock(mu_);
      auto it = entries_.find(alias);
      if (it == entries_.end()) return NotFoundError("unknown model '" + alias + "'");
      it->second.last_used = std::chrono::system_clock::now();
      return Lease(this, alias, *std::move(lease));
    }
    if (round + 1 >= kMaxAcquireRounds) {
      return UnavailableError("the engine of '" + alias + "' went away before it could be used " +
                              std::to_string(kMaxAcquireRounds) + " times; try again");
    }
    LoadResult loaded = Load(alias, ctx);
    // Aborted: fenced off by reloads more than once in a row; look again all the same.
    if (!loaded && loaded.error().code() != StatusCode::kAborted) return loaded.error();
    MODELRT_RETURN_IF_ERROR(ctx.Check());
  }
}

void RuntimeCore::Release(const std::string& alias) {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return;
  it->second.last_used = std::chrono::system_clock::now();
}

void RuntimeCore::RecordError(const ModelSpec& spec, const Status& status) {
  metrics_
      ->GetCounter("modelrt_model_errors_total", "Failed model calls by status code",
                   {{"alias", spec.alias},
                    {"task", std::string(ToString(spec.task))},
                    {"code", std::string(ToString(status.code()))}})
      .Increment();
}

// ---- Reload primitives --------------------------------------------------------------------------

Result<RuntimeCore::ReloadTarget> RuntimeCore::PrepareReload(std::string_view alias,
                                                             std::optional<ModelSpec> new_spec) {
  ReloadTarget target;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
    target.old_spec = *it->second.spec;
    target.old_key = it->second.key;
  }
  target.new_spec = new_spec ? std::move(*new_spec) : target.old_spec;
  ModelSpec& spec = target.new_spec;
  if (spec.alias.empty()) spec.alias = target.old_spec.alias;
  if (spec.provider.empty()) spec.provider = target.old_spec.provider;
  const std::string origin = OriginOf(spec);
  if (spec.alias != target.old_spec.alias) {
    return InvalidArgumentError(origin + ".alias: a reload keeps the alias ('" +
                                target.old_spec.alias + "', not '" + spec.alias + "')");
  }
  if (spec.task != target.old_spec.task) {
    return InvalidArgumentError(origin + ".task: a reload cannot change the task (" +
                                std::string(ToString(target.old_spec.task)) +
                                "); remove the alias and register it again");
  }
  std::shared_ptr<Provider> provider = providers_.Find(spec.provider);
  if (provider == nullptr) {
    return NotFoundError(origin + ".provider: unknown provider '" + spec.provider + "'");
  }
  Status valid = provider->Validate(spec);
  if (!valid.ok()) return valid.WithPrefix(origin);
  target.new_key = KeyOf(spec, *provider);
  target.provider = std::move(provider);
  const KeyStatus engines = pool_->Describe(target.old_key);
  target.loaded = engines.live.has_value();
  target.old_generation = engines.live ? engines.live->generation : 0;
  return target;
}

Result<EnginePool::Installed> RuntimeCore::CommitReload(const ReloadTarget& target,
                                                        EnginePool::Reservation reservation,
                                                        std::shared_ptr<Model> model) {
  const uint64_t epoch = ++next_epoch_;
  uint64_t min_generation = 0;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(target.new_spec.alias);
    if (it == entries_.end()) return NotFoundError("'" + target.new_spec.alias + "' was removed");
    min_generation = it->second.generation;
  }
  const ModelInfo info = model->Info();
  EnginePool::InstallRequest request{model, epoch, min_generation,
                                     EngineOptionsOf(target.new_spec, *model)};
  // The swap: from here new checkouts get the new engine; the old one drains.
  MODELRT_ASSIGN_OR_RETURN(EnginePool::Installed installed,
                           pool_->Install(std::move(reservation), std::move(request)));
  bool removed = false;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(target.new_spec.alias);
    if (it == entries_.end()) {
      removed = true;
    } else {
      Entry& entry = it->second;
      entry.spec = std::make_shared<const ModelSpec>(target.new_spec);
      entry.provider = target.provider;
      entry.key = target.new_key;
      entry.epoch = epoch;
      entry.info = info;
      RecordInstalled(entry, target.new_spec, installed);
    }
  }
  if (removed) {
    pool_->Evict(target.new_key, EvictionReason::kManual);
    return NotFoundError("'" + target.new_spec.alias + "' was removed during its reload");
  }
  if (target.new_key != target.old_key) {  // moved device: the old key's engine goes
    pool_->Fence(target.old_key, epoch);
    pool_->Evict(target.old_key, EvictionReason::kReplaced);
  }
  return installed;
}

Status RuntimeCore::UpdateSpec(const ModelSpec& spec) {
  std::shared_ptr<Provider> provider = providers_.Find(spec.provider);
  if (provider == nullptr) {
    return NotFoundError(OriginOf(spec) + ".provider: unknown provider '" + spec.provider + "'");
  }
  Status valid = provider->Validate(spec);
  if (!valid.ok()) return valid.WithPrefix(OriginOf(spec));
  const uint64_t epoch = ++next_epoch_;
  EngineKey old_key, new_key = KeyOf(spec, *provider);
  bool engine_changes = false;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(spec.alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + spec.alias + "'");
    Entry& entry = it->second;
    if (entry.spec->task != spec.task) {
      return InvalidArgumentError(OriginOf(spec) + ".task: cannot change in place");
    }
    old_key = entry.key;
    engine_changes = entry.spec->model != spec.model || entry.spec->options != spec.options ||
                     entry.spec->provider != spec.provider;
    engine_changes = engine_changes || entry.provider != provider;
    entry.spec = std::make_shared<const ModelSpec>(spec);
    entry.provider = std::move(provider);
    entry.key = new_key;
    if (engine_changes) entry.epoch = epoch;
  }
  if (engine_changes) {
    // Loads of the old spec in flight must not install, and an engine of the old spec that a racing
    // load installed just before goes too (it drains; the next call loads the new spec).
    pool_->Fence(old_key, epoch);
    if (new_key != old_key) pool_->Fence(new_key, epoch);
    pool_->Evict(old_key, EvictionReason::kReplaced);
  } else {
    pool_->SetEngineOptions(new_key, spec.pinned, KeepAliveOf(spec));
  }
  return OkStatus();
}

void RuntimeCore::RecordReloadFailure(std::string_view alias, const Status& error) {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return;
  it->second.last_error = error.ToString();
  it->second.failed_at = std::chrono::system_clock::now();
}

}  // namespace modelrt::internal
