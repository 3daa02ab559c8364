// RuntimeCore's loader: the single-flight load of an alias on a load thread — room in the pool,
// provider warmup, provider Load, model Warmup, resize, install — plus prefetch and background
// warmup. See runtime_core.h for the rules.
#include <exception>
#include <thread>
#include <utility>

#include "core/logging.h"
#include "runtime/deployment_set.h"
#include "runtime/runtime_core.h"
#include "store/catalog_models.h"

namespace modelrt::internal {
namespace {

constexpr char kLoadsTotal[] = "modelrt_model_loads_total";
constexpr char kLoadSeconds[] = "modelrt_model_load_seconds";

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

RuntimeCore::ModelResult RuntimeCore::LoadModel(const ModelSpec& spec, Provider& provider,
                                                const CallContext& ctx) {
  if (spec.deployments.size() > 1) return LoadDeployments(spec, ctx);
  return LoadOneModel(spec, provider, ctx);
}

RuntimeCore::ModelResult RuntimeCore::LoadDeployments(const ModelSpec& spec,
                                                      const CallContext& ctx) {
  std::vector<DeploymentPart> parts;
  Status first_error;
  for (const Deployment& d : spec.deployments) {
    const std::string name = d.provider + "/" + d.model;
    std::shared_ptr<Provider> provider = providers_.Find(d.provider);
    ModelResult part = provider == nullptr
                           ? ModelResult(NotFoundError("unknown provider '" + d.provider + "'"))
                           : LoadOneModel(DeploymentSpec(spec, d), *provider, ctx);
    if (part) {
      parts.push_back({*std::move(part), d.weight, name});
      continue;
    }
    Status why = part.error().WithPrefix("deployment " + name);
    if (ctx.cancelled() || ctx.expired()) return why;  // the load is over, not one deployment
    Log("runtime")->warn("{}: {}; serving with the other deployments", spec.alias,
                         why.ToString());
    if (first_error.ok()) first_error = std::move(why);
  }
  if (parts.empty()) return first_error;
  return MakeDeploymentSet(spec.task, std::move(parts));
}

RuntimeCore::ModelResult RuntimeCore::LoadOneModel(const ModelSpec& given, Provider& provider,
                                                   const CallContext& ctx) {
  // A store:// model loads from its bundle's file; the provider sees a plain path.
  ModelSpec resolved;
  const bool in_store = store::IsStoreRef(given.model);
  if (in_store) {
    if (store_ == nullptr) {
      return FailedPreconditionError(given.model + ": this runtime has no model store");
    }
    resolved = given;
    MODELRT_ASSIGN_OR_RETURN(resolved.model, store::ResolveOrPull(*store_, given, ctx));
  }
  const ModelSpec& spec = in_store ? resolved : given;
  MODELRT_RETURN_IF_ERROR(providers_.EnsureWarm(provider));
  try {  // providers should not throw; if one does, it must not take the process
         // down
    ModelResult loaded = provider.Load(spec, ctx);
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
}

int64_t RuntimeCore::EstimateBytes(const EngineKey& key, const ModelSpec& spec,
                                   const ModelSpec& last, const Provider& provider) {
  const KeyStatus engines = pool_->Describe(key);
  if (engines.last_memory_bytes && spec.model == last.model && spec.options == last.options) {
    return *engines.last_memory_bytes;
  }
  return provider.Estimate(spec).memory_bytes;
}

CallContext RuntimeCore::LoadContext(std::chrono::milliseconds timeout,
                                     const std::string& request_id) const {
  CallContext ctx;
  const auto now = Clock::now();
  if (timeout.count() > 0 && timeout < Clock::time_point::max() - now) ctx.deadline = now + timeout;
  ctx.cancel = loads_cancel_;
  ctx.request_id = request_id;
  return ctx;
}

// ---- Loading ------------------------------------------------------------------------------------

RuntimeCore::LoadResult RuntimeCore::Load(std::string_view alias, const CallContext& ctx) {
  // Aborted: a reload (or a spec update) fenced the flight we joined off; the next flight loads the
  // current spec, or finds the reload's engine.
  LoadResult result = LoadOnce(std::string(alias), ctx);
  for (int round = 1; round < 3 && !result && result.error().code() == StatusCode::kAborted;
       ++round) {
    result = LoadOnce(std::string(alias), ctx);
  }
  return result;
}

RuntimeCore::LoadResult RuntimeCore::LoadOnce(const std::string& alias, const CallContext& ctx) {
  std::chrono::milliseconds load_timeout;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it == entries_.end()) return NotFoundError("unknown model '" + alias + "'");
    if (pool_->Describe(it->second.key).live) return it->second.info;
    load_timeout = it->second.spec->load_timeout;
  }
  auto outcome = flights_.Do(
      alias, ctx.deadline, load_timeout,
      [this](const Flights::FlightPtr& flight) { return StartLoad(flight); },
      [&ctx] { return ctx.cancelled(); });
  switch (outcome.wait) {
    case Flights::Wait::kDone:
      return std::move(*outcome.value);
    case Flights::Wait::kFlightExpired: {
      MutexLock lock(mu_);
      auto it = entries_.find(alias);
      if (it != entries_.end() && it->second.room_wait_flight == outcome.flight_id) {
        return UnavailableError("no room in the engine pool to load '" + alias +
                                "' within its load timeout of " + Ms(load_timeout) +
                                " (busy or pinned engines hold the budget)");
      }
      return DeadlineExceededError("loading '" + alias + "' exceeded its load timeout of " +
                                   Ms(load_timeout));
    }
    case Flights::Wait::kCallerExpired:
      return DeadlineExceededError("deadline exceeded while waiting for '" + alias + "' to load");
    case Flights::Wait::kCallerCancelled:
      return CancelledError("cancelled while waiting for '" + alias + "' to load");
  }
  return InternalError("unreachable");
}

std::optional<RuntimeCore::LoadResult> RuntimeCore::StartLoad(const Flights::FlightPtr& flight) {
  LoadJob job;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(flight->key());
    if (it == entries_.end()) return NotFoundError("unknown model '" + flight->key() + "'");
    Entry& entry = it->second;
    // A load that finished between our caller's look and this flight: no second load.
    if (pool_->Describe(entry.key).live) return entry.info;
    entry.loading_flight = flight->id();
    job = LoadJob{*entry.spec, entry.provider, entry.key, entry.epoch, entry.generation};
  }
  // The thread owns copies of all it needs; the core outlives it (Shutdown joins).
  if (!loads_.Spawn([this, flight, job] { RunLoad(flight, job); })) {
    MutexLock lock(mu_);
    auto it = entries_.find(flight->key());
    if (it != entries_.end() && it->second.loading_flight == flight->id()) {
      it->second.loading_flight = 0;
    }
    return CancelledError("runtime is shutting down");
  }
  Log("runtime")->debug("loading '{}' (attempt {})", job.spec.alias, flight->id());
  return std::nullopt;
}

Status RuntimeCore::MakeRoom(const std::string& alias, uint64_t flight_id,
                             const std::function<Status()>& wait) {
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it != entries_.end()) it->second.room_wait_flight = flight_id;
  }
  Status status = wait();
  if (status.ok()) {  // else it stays marked: the flight failed for want of room
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    if (it != entries_.end() && it->second.room_wait_flight == flight_id) {
      it->second.room_wait_flight = 0;
    }
  }
  return status;
}

Result<RuntimeCore::LoadedEngine> RuntimeCore::LoadEngine(const EngineKey& key, int64_t estimate,
                                                          const ModelSpec& spec, Provider& provider,
                                                          const CallContext& ctx,
                                                          const RoomWait& wait_for_room) {
  auto wait = [&](const std::function<Status()>& fn) {
    return wait_for_room ? wait_for_room(fn) : fn();
  };
  std::optional<EnginePool::Reservation> room;
  MODELRT_RETURN_IF_ERROR(wait([&]() -> Status {
    MODELRT_ASSIGN_OR_RETURN(EnginePool::Reservation reserved, pool_->Reserve(key, estimate, ctx));
    room.emplace(std::move(reserved));
    return OkStatus();
  }));
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, LoadModel(spec, provider, ctx));
  // The estimate was the provider's (or the last engine's); the engine now says what it takes.
  const int64_t bytes = model->Info().memory_bytes;
  MODELRT_RETURN_IF_ERROR(wait([&] { return room->Resize(bytes, ctx); }));
  return LoadedEngine{*std::move(room), std::move(model)};
}

void RuntimeCore::RunLoad(const Flights::FlightPtr& flight, const LoadJob& job) {
  const auto start = Clock::now();
  CallContext ctx;
  ctx.deadline = flight->deadline();
  ctx.cancel = loads_cancel_;
  ctx.request_id = "load:" + job.spec.alias;
  const std::string& alias = job.spec.alias;
  Result<LoadedEngine> engine = LoadEngine(
      job.key, EstimateBytes(job.key, job.spec, job.spec, *job.provider), job.spec, *job.provider,
      ctx,
      [&](const std::function<Status()>& wait) { return MakeRoom(alias, flight->id(), wait); });
  std::optional<EnginePool::Reservation> room;
  ModelResult loaded = engine ? ModelResult(std::move(engine->model)) : ModelResult(engine.error());
  if (engine) room.emplace(std::move(engine->room));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!flights_.Claim(flight)) {
    // Abandoned at its deadline; OnLoadAbandoned already marked the alias failed. Dropping `loaded`
    // and the reservation here frees a late model and gives its room back.
    Log("runtime")->warn("discarding the late result of loading '{}' ({:.3f} s): {}", alias,
                         seconds, loaded ? "a model" : loaded.error().ToString());
    return;
  }
  // CommitLoad takes the only reference to the engine (into the pool) before the waiters wake:
  // nothing here may keep it alive after they return and, say, unload it.
  LoadResult result = CommitLoad(job, flight->id(), std::move(loaded), std::move(room), seconds);
  flights_.Finish(flight, std::move(result));
}

RuntimeCore::LoadResult RuntimeCore::CommitLoad(const LoadJob& job, uint64_t flight_id,
                                                ModelResult loaded,
                                                std::optional<EnginePool::Reservation> room,
                                                double seconds) {
  const std::string& alias = job.spec.alias;
  std::optional<EnginePool::Installed> installed;
  Status error;
  ModelInfo info;
  if (loaded) {
    std::shared_ptr<Model> model = *std::move(loaded);
    loaded = InternalError("moved into the pool");
    info = model->Info();
    EngineOptions options = EngineOptionsOf(job.spec, *model);
    Result<EnginePool::Installed> done = pool_->Install(
        std::move(*room), {std::move(model), job.epoch, job.min_generation, std::move(options)});
    if (done) {
      installed = *done;
    } else {
      error = done.error();  // superseded by a reload (Aborted): callers look again
    }
  } else {
    error = loaded.error();
  }
  const bool superseded = error.code() == StatusCode::kAborted;
  const std::string outcome = installed ? "success" : superseded ? "superseded" : "failure";
  metrics_
      ->GetCounter(kLoadsTotal, "Model loads by outcome", {{"alias", alias}, {"outcome", outcome}})
      .Increment();
  metrics_->GetHistogram(kLoadSeconds, "Model load time in seconds", {{"alias", alias}})
      .Observe(seconds);
  {
    MutexLock lock(mu_);
    auto it = entries_.find(alias);
    // Removed, or re-registered meanwhile: this load is not theirs.
    if (it != entries_.end() && it->second.loading_flight == flight_id) {
      Entry& entry = it->second;
      entry.loading_flight = 0;
      if (installed) {
        entry.info = info;
        RecordInstalled(entry, job.spec, *installed);
      } else if (!superseded) {
        entry.failed = true;
        entry.last_error = error.ToString();
        entry.failed_at = std::chrono::system_clock::now();
      }
    }
  }
  if (installed) {
    Log("runtime")->info("loaded '{}' in {:.3f} s (generation {})", alias, seconds,
                         installed->generation);
    return info;
  }
  Log("runtime")->warn("loading '{}' {} after {:.3f} s: {}", alias,
                       superseded ? "was superseded" : "failed", seconds, error.ToString());
  return error;
}

void RuntimeCore::RecordInstalled(Entry& entry, const ModelSpec& spec,
                                  const EnginePool::Installed& installed) {
  entry.generation = std::max(entry.generation, installed.generation);
  entry.failed = false;
  entry.last_error.clear();
  entry.failed_at.reset();
  VersionRecord record;
  record.alias = spec.alias;
  record.generation = installed.generation;
  record.global_generation = installed.global_generation;
  record.description = entry.info.description;
  record.source = spec.model;
  record.memory_bytes = entry.info.memory_bytes;
  record.loaded_at = std::chrono::system_clock::now();
  history_.Add(std::move(record));
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
    if (it == entries_.end() || it->second.loading_flight != flight_id) return;
    Entry& entry = it->second;
    message = entry.room_wait_flight == flight_id
                  ? "Unavailable: no room in the engine pool within the load "
                    "timeout of " +
                        Ms(entry.spec->load_timeout)
                  : "DeadlineExceeded: load timed out after " + Ms(entry.spec->load_timeout);
    entry.loading_flight = 0;
    entry.failed = true;
    entry.last_error = message;
    entry.failed_at = std::chrono::system_clock::now();
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

}  // namespace modelrt::internal
