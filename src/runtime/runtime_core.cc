#include "runtime/runtime_core.h"

#include <exception>
#include <thread>
#include <utility>

#include "core/logging.h"

namespace modelrt::internal {
namespace {

constexpr char kLoadsTotal[] = "modelrt_model_loads_total";
constexpr char kLoadSeconds[] = "modelrt_model_load_seconds";

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

std::string OriginOf(const ModelSpec& spec) {
  return spec.origin.empty() ? "model '" + spec.alias + "'" : spec.origin;
}

RuntimeCore::Lease::Lease(Lease&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      alias_(std::move(other.alias_)),
      model_(std::move(other.model_)) {}

RuntimeCore::Lease::~Lease() {
  if (core_ != nullptr) core_->Release(alias_);
}

RuntimeCore::RuntimeCore(std::map<std::string, std::shared_ptr<Provider>> providers,
                         std::shared_ptr<MetricsRegistry> metrics)
    : providers_(std::move(providers)),
      metrics_(std::move(metrics)),
      flights_([this](const std::string& alias, uint64_t id) { OnLoadAbandoned(alias, id); }) {
  for (const auto& [id, provider] : providers_) warm_.emplace(id, std::make_unique<WarmState>());
}

RuntimeCore::~RuntimeCore() { Shutdown(); }

void RuntimeCore::Shutdown() {
  loads_cancel_->store(true);
  // Background warmups wait on loads; once the flag stops the providers, both groups drain.
  background_.JoinAll();
  loads_.JoinAll();
}

// ---- The alias table ---------------------------------------------------------------------------

std::shared_ptr<const AliasMetrics> RuntimeCore::MetricsFor(const ModelSpec& spec) {
  const Labels labels = {{"alias", spec.alias}, {"task", std::string(ToString(spec.task))}};
  auto m = std::make_shared<AliasMetrics>();
  m->calls = &metrics_->GetCounter("modelrt_model_calls_total", "Model calls by alias", labels);
  m->call_seconds = &metrics_->GetHistogram(
      "modelrt_model_call_seconds", "Model call latency in seconds, retries included", labels);
  m->retries = &metrics_->GetCounter("modelrt_model_retries_total", "Retried model call attempts",
                                     {{"alias", spec.alias}});
  return m;
}

Status RuntimeCore::AddSpec(const ModelSpec& spec) {
  const std::string origin = OriginOf(spec);
  if (spec.alias.empty()) return InvalidArgumentError(origin + ".alias: must not be empty");
  auto provider_it = providers_.find(spec.provider);
  if (provider_it == providers_.end()) {
    return NotFoundError(origin + ".provider: unknown provider '" + spec.provider + "'");
  }
  Status valid = provider_it->second->Validate(spec);
  if (!valid.ok()) return valid.WithPrefix(origin);
  auto metrics = MetricsFor(spec);
  MutexLock lock(mu_);
  if (entries_.count(spec.alias) > 0) {
    return AlreadyExistsError(origin + ": alias '" + spec.alias + "' is already registered");
  }
  Entry entry;
  entry.spec = spec;
  entry.provider = provider_it->second;
  entry.metrics = std::move(metrics);
  entries_.emplace(spec.alias, std::move(entry));
  return OkStatus();
}

void RuntimeCore::RemoveAlias(std::string_view alias) {
  std::shared_ptr<Model> dropped;  // freed outside the lock
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return;
  dropped = std::move(it->second.model);
  entries_.erase(it);
}

bool RuntimeCore::Contains(std::string_view alias) const {
  MutexLock lock(mu_);
  return entries_.find(alias) != entries_.end();
}

Result<ModelSpec> RuntimeCore::Spec(std::string_view alias) const {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
  return it->second.spec;
}

Result<RuntimeCore::CallSetup> RuntimeCore::PrepareCall(std::string_view alias) const {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
  return CallSetup{it->second.spec, it->second.metrics};
}

ModelStatus RuntimeCore::StatusOf(const Entry& entry) const {
  ModelStatus status;
  status.spec = entry.spec;
  status.state = entry.state;
  status.last_error = entry.last_error;
  if (entry.model) status.info = entry.info;
  status.in_flight = entry.in_flight;
  status.generation = entry.generation;
  status.last_used = entry.last_used;
  return status;
}

std::vector<ModelStatus> RuntimeCore::List() const {
  MutexLock lock(mu_);
  std::vector<ModelStatus> out;
  out.reserve(entries_.size());
  for (const auto& [alias, entry] : entries_) out.push_back(StatusOf(entry));
  return out;
}

Result<ModelStatus> RuntimeCore::Describe(std::string_view alias) const {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
  return StatusOf(it->second);
}

// ---- Providers ---------------------------------------------------------------------------------

void RuntimeCore::WarmupProviders() {
  for (const auto& [id, provider] : providers_) {
    Status s = EnsureProviderWarm(*provider);
    if (!s.ok()) {
      Log("runtime")->warn("provider '{}' warmup failed (retried before its first load): {}", id,
                           s.ToString());
    }
  }
}

Status RuntimeCore::EnsureProviderWarm(Provider& provider) {
  auto it = warm_.find(provider.id());
  if (it == warm_.end()) return InternalError("provider '" + provider.id() + "' is not registered");
  WarmState& state = *it->second;
  MutexLock lock(state.mu);
  if (state.warm) return OkStatus();
  Status s = provider.Warmup();
  if (!s.ok()) return s.WithPrefix("provider '" + provider.id() + "' warmup");
  state.warm = true;
  return OkStatus();
}

// ---- Loading -----------------------------------------------------------------------------------

RuntimeCore::LoadResult RuntimeCore::Load(std::string_view alias_view, const CallContext& ctx) {
  const std::string alias(alias_view);
  std::chrono::milliseconds load_timeout;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + alias + "'");
    if (it->second.model) return it->second.model;
    load_timeout = it->second.spec.load_timeout;
  }
  auto outcome = flights_.Do(
      alias, ctx.deadline, load_timeout,
      [this](const Flights::FlightPtr& flight) { return StartLoad(flight); },
      [&ctx] { return ctx.cancelled(); });
  switch (outcome.wait) {
    case Flights::Wait::kDone: return std::move(*outcome.value);
    case Flights::Wait::kFlightExpired:
      return DeadlineExceededError("loading '" + alias + "' exceeded its load timeout of " +
                                   Ms(load_timeout));
    case Flights::Wait::kCallerExpired:
      return DeadlineExceededError("deadline exceeded while waiting for '" + alias + "' to load");
    case Flights::Wait::kCallerCancelled:
      return CancelledError("cancelled while waiting for '" + alias + "' to load");
  }
  return InternalError("unreachable");
}

std::optional<RuntimeCore::LoadResult> RuntimeCore::StartLoad(const Flights::FlightPtr& flight) {
  ModelSpec spec;
  std::shared_ptr<Provider> provider;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(flight->key());
    if (it == entries_.end()) return NotFoundError("unknown model '" + flight->key() + "'");
    Entry& entry = it->second;
    // A load that finished between our caller's look and this flight: no second load.
    if (entry.model) return entry.model;
    entry.state = ModelState::kLoading;
    entry.flight_id = flight->id();
    spec = entry.spec;
    provider = entry.provider;
  }
  // The thread owns copies of all it needs; the core outlives it (Shutdown joins).
  if (!loads_.Spawn([this, flight, spec, provider] { RunLoad(flight, spec, provider); })) {
    return CancelledError("runtime is shutting down");
  }
  Log("runtime")->debug("loading '{}' (attempt {})", spec.alias, flight->id());
  return std::nullopt;
}

void RuntimeCore::RunLoad(const Flights::FlightPtr& flight, const ModelSpec& spec,
                          const std::shared_ptr<Provider>& provider) {
  const auto start = Clock::now();
  CallContext ctx;
  ctx.deadline = flight->deadline();
  ctx.cancel = loads_cancel_;
  ctx.request_id = "load:" + spec.alias;
  LoadResult result = [&]() -> LoadResult {
    MODELRT_RETURN_IF_ERROR(EnsureProviderWarm(*provider));
    try {  // providers should not throw; if one does, it must not take the process down
      LoadResult loaded = provider->Load(spec, ctx);
      if (loaded && *loaded == nullptr) return InternalError("provider returned no model");
      if (loaded && (*loaded)->task() != spec.task) {
        return InternalError("provider loaded a " + std::string(ToString((*loaded)->task())) +
                             " model for a " + std::string(ToString(spec.task)) + " alias");
      }
      // A model that cannot answer a tiny request is not loaded; and warmup is why eager and
      // background policies exist: the first real call should not pay for lazy setup.
      if (loaded) MODELRT_RETURN_IF_ERROR((*loaded)->Warmup().WithPrefix("model warmup"));
      return loaded;
    } catch (const std::exception& e) {
      return InternalError(std::string("provider threw: ") + e.what());
    }
  }();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!flights_.Claim(flight)) {
    // Abandoned at its deadline; OnLoadAbandoned already marked the alias failed. Dropping
    // `result` here frees a late model.
    Log("runtime")->warn("discarding the late result of loading '{}' ({:.3f} s): {}", spec.alias,
                         seconds, result ? "a model" : result.error().ToString());
    return;
  }
  CommitLoad(spec, flight->id(), result, seconds);
  flights_.Finish(flight, std::move(result));
}

void RuntimeCore::CommitLoad(const ModelSpec& spec, uint64_t flight_id, const LoadResult& result,
                             double seconds) {
  const std::string outcome = result ? "success" : "failure";
  metrics_
      ->GetCounter(kLoadsTotal, "Model loads by outcome",
                   {{"alias", spec.alias}, {"outcome", outcome}})
      .Increment();
  metrics_->GetHistogram(kLoadSeconds, "Model load time in seconds", {{"alias", spec.alias}})
      .Observe(seconds);
  uint64_t generation = 0;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(spec.alias);
    // Removed (a failed Register) or re-registered meanwhile: this load is not theirs.
    if (it == entries_.end() || it->second.flight_id != flight_id) return;
    Entry& entry = it->second;
    if (result) {
      entry.model = *result;
      entry.info = entry.model->Info();
      entry.state = ModelState::kLoaded;
      entry.last_error.clear();
      generation = ++entry.generation;
    } else {
      entry.state = ModelState::kFailed;
      entry.last_error = result.error().ToString();
    }
  }
  if (result) {
    Log("runtime")->info("loaded '{}' in {:.3f} s (generation {})", spec.alias, seconds,
                         generation);
  } else {
    Log("runtime")->warn("loading '{}' failed after {:.3f} s: {}", spec.alias, seconds,
                         result.error().ToString());
  }
}

void RuntimeCore::OnLoadAbandoned(const std::string& alias, uint64_t flight_id) {
  metrics_
      ->GetCounter(kLoadsTotal, "Model loads by outcome",
                   {{"alias", alias}, {"outcome", "timeout"}})
      .Increment();
  std::string message;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end() || it->second.flight_id != flight_id) return;
    Entry& entry = it->second;
    message = "DeadlineExceeded: load timed out after " + Ms(entry.spec.load_timeout);
    if (entry.state == ModelState::kLoading) {
      entry.state = ModelState::kFailed;
      entry.last_error = message;
    }
  }
  Log("runtime")->warn("loading '{}': {}", alias, message);
}

std::vector<Status> RuntimeCore::LoadAll(const std::vector<std::string>& aliases) {
  std::vector<Status> statuses(aliases.size());
  std::vector<std::thread> threads;
  threads.reserve(aliases.size());
  for (size_t i = 0; i < aliases.size(); ++i) {
    // Joined below, before `statuses` goes away.
    threads.emplace_back([this, &aliases, &statuses, i] {
      LoadResult r = Load(aliases[i], CallContext{});
      if (!r) statuses[i] = r.error();
    });
  }
  for (std::thread& t : threads) t.join();
  return statuses;
}

void RuntimeCore::LoadInBackground(std::vector<std::string> aliases) {
  if (aliases.empty()) return;
  bool spawned = background_.Spawn([this, aliases] {
    std::vector<Status> statuses = LoadAll(aliases);
    for (size_t i = 0; i < aliases.size(); ++i) {
      if (!statuses[i].ok()) {
        Log("runtime")->warn("background warmup of '{}' failed: {}", aliases[i],
                             statuses[i].ToString());
      }
    }
  });
  if (!spawned) Log("runtime")->warn("background warmup refused: runtime is shutting down");
}

void RuntimeCore::WaitForBackground() { background_.WaitIdle(); }

Status RuntimeCore::Unload(std::string_view alias) {
  std::shared_ptr<Model> dropped;  // freed outside the lock (unless a call still holds it)
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
    Entry& entry = it->second;
    dropped = std::move(entry.model);
    entry.model = nullptr;
    if (entry.state == ModelState::kLoaded || entry.state == ModelState::kFailed) {
      entry.state = entry.in_flight > 0 ? ModelState::kDraining : ModelState::kUnloaded;
    }
  }
  Log("runtime")->info("unloaded '{}'", alias);
  return OkStatus();
}

// ---- Calls -------------------------------------------------------------------------------------

Result<RuntimeCore::Lease> RuntimeCore::Acquire(std::string_view alias, const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, Load(alias, ctx));
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return NotFoundError("unknown model '" + std::string(alias) + "'");
  ++it->second.in_flight;
  it->second.last_used = std::chrono::system_clock::now();
  return Lease(this, std::string(alias), std::move(model));
}

void RuntimeCore::Release(const std::string& alias) {
  MutexLock lock(mu_);
  auto it = entries_.find(alias);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  if (entry.in_flight > 0) --entry.in_flight;  // 0: the alias was re-registered meanwhile
  entry.last_used = std::chrono::system_clock::now();
  if (entry.in_flight == 0 && entry.state == ModelState::kDraining) {
    entry.state = ModelState::kUnloaded;
  }
}

void RuntimeCore::RecordError(const ModelSpec& spec, const Status& status) {
  metrics_
      ->GetCounter("modelrt_model_errors_total", "Failed model calls by status code",
                   {{"alias", spec.alias},
                    {"task", std::string(ToString(spec.task))},
                    {"code", std::string(ToString(status.code()))}})
      .Increment();
}

}  // namespace modelrt::internal
