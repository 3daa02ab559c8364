// RuntimeCore: the state behind ModelRuntime and its handles — the alias table (spec, provider,
// engine key, fence epoch, generation, last use, last error), the single-flight loader, the
// EnginePool that owns the loaded engines, the version history and the threads that run loads and
// background warmups.
//
//   auto core = std::make_shared<RuntimeCore>(providers, metrics, EnginePool::Options{}, 32);
//   MODELRT_RETURN_IF_ERROR(core->AddSpec(spec));
//   MODELRT_ASSIGN_OR_RETURN(RuntimeCore::Lease lease, core->Acquire("chat", ctx));
//   lease.model();   // held by the lease: an Unload or reload meanwhile does not free it
//
// Engines: the pool holds them (keyed by alias and device); a call checks one out for its duration
// (a pool lease, so eviction skips it). A miss loads through the single-flight loader: Load() joins
// or starts the alias's flight, whose load thread (of `loads_`) reserves room in the pool (evicting
// idle engines or waiting, up to the load deadline), runs the provider's Load and the model's
// Warmup, resizes the reservation to the engine's reported memory and installs the engine before
// the flight's map entry goes away (so a later caller hits, never loads twice). Flights carry the
// engine's info, never the engine: only the pool and leases own engines, so an unload frees one at
// once. A flight past its deadline is abandoned: state `failed` (Unavailable when it was waiting
// for room, else DeadlineExceeded) and a late result is dropped by the load thread.
//
// Fences: every spec version of an alias has an epoch (from one increasing counter). Flights
// install with the epoch they started under, and the pool refuses an epoch older than the key's
// fence; a reload (or Remove) raises the fence, so a slow load of the old spec can never replace
// the new engine. A refused flight answers Aborted and its callers look again.
//
// Providers live in a ProviderTable (its lock is a leaf); entries keep the provider their spec
// resolved to, and a replaced provider is rebound in every entry that uses it.
//
// Lock order: SingleFlight's mutex, then mu_, then the pool's mutex (only its read-only calls,
// Describe/Peek, run under mu_; the pool's mutating calls, which may run eviction listeners, are
// made without mu_).
//
// Thread-safety: thread-safe. Shutdown() (also run by the destructor) cancels running loads and
// joins every thread it started; threads reach the core by raw pointer, which is safe because none
// outlives Shutdown.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_annotations.h"
#include "pool/engine_pool.h"
#include "modelrt/reload.h"
#include "modelrt/runtime.h"
#include "runtime/provider_table.h"
#include "runtime/single_flight.h"
#include "runtime/thread_group.h"
#include "runtime/version_history.h"

namespace modelrt::store {
class ModelStore;
}

namespace modelrt::internal {

// The metric series of one alias that every call touches, looked up once at registration.
struct AliasMetrics {
  Counter* calls = nullptr;
  Histogram* call_seconds = nullptr;
  Counter* retries = nullptr;
  // Generation aliases only: prompt tokens, those of them served from a prompt cache, and the
  // ratio of the two since start.
  Counter* prompt_tokens = nullptr;
  Counter* cached_prompt_tokens = nullptr;
  Gauge* prompt_cache_hit_ratio = nullptr;
};

// What a successful call adds to its alias's metrics beyond the call itself.
template <typename R>
void RecordUsage(const AliasMetrics&, const R&) {}
void RecordUsage(const AliasMetrics& metrics, const GenerateResult& result);

// The engine key of a spec: the alias on the device its provider names (LoadEstimate.device).
EngineKey KeyOf(const ModelSpec& spec, const Provider& provider);
// The pool's keep-alive for a spec's keep_alive_s (nullopt = the pool's TTL, negative = never).
std::optional<std::chrono::milliseconds> KeepAliveOf(const ModelSpec& spec);

class RuntimeCore {
 public:
  // What a load answers: the engine's info (flights carry no engine; see the file comment).
  using LoadResult = Result<ModelInfo>;
  using ModelResult = Result<std::shared_ptr<Model>>;

  // An engine held for one call: counts as in flight (in the pool) until destroyed.
  class Lease {
   public:
    Lease(RuntimeCore* core, std::string alias, EnginePool::Lease lease)
        : core_(core), alias_(std::move(alias)), lease_(std::move(lease)) {}
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Model& model() const { return lease_.model(); }
    uint64_t generation() const { return lease_.generation(); }
    // EnginePool::Lease::CheckIn: the call is over; the result keeps the engine alive.
    std::shared_ptr<const void> CheckIn();

   private:
    RuntimeCore* core_;
    std::string alias_;
    EnginePool::Lease lease_;
  };

  // What a call needs before it starts: the spec (shared, not copied: a spec holds JSON options)
  // and its metric series.
  struct CallSetup {
    std::shared_ptr<const ModelSpec> spec;
    std::shared_ptr<const AliasMetrics> metrics;
  };

  // What a reload needs from the table, taken at its start.
  struct ReloadTarget {
    ModelSpec old_spec;
    ModelSpec new_spec;
    std::shared_ptr<Provider> provider;
    EngineKey old_key, new_key;
    uint64_t old_generation = 0;  // of the live engine, 0 when none
    bool loaded = false;          // an engine is live now
  };

  // A provider and the config it was created from (none for providers added as objects).
  struct ProviderSource {
    std::shared_ptr<Provider> provider;
    std::optional<ProviderConfig> config;
  };

  // Providers are warmed before their first load unless WarmupProviders() ran first. A null
  // pool_options.metrics means `metrics`. Provider ids must be unique (the Builder checks).
  RuntimeCore(std::vector<ProviderSource> providers, std::shared_ptr<MetricsRegistry> metrics,
              EnginePool::Options pool_options, size_t history_size);
  ~RuntimeCore();
  RuntimeCore(const RuntimeCore&) = delete;
  RuntimeCore& operator=(const RuntimeCore&) = delete;

  // ---- The alias table ----
  // Checks the provider and the spec (errors name spec.origin) and adds the alias, unloaded.
  Status AddSpec(const ModelSpec& spec);
  // Unregisters: new calls get NotFound, in-flight calls finish on their engine, which is freed
  // after the last; a load in flight for the alias is fenced off. NotFound for an unknown alias.
  Status Remove(std::string_view alias);
  bool Contains(std::string_view alias) const;
  Result<ModelSpec> Spec(std::string_view alias) const;
  Result<CallSetup> PrepareCall(std::string_view alias) const;
  std::vector<ModelStatus> List() const;
  Result<ModelStatus> Describe(std::string_view alias) const;
  std::vector<std::string> Aliases() const;

  // Runs every provider's Warmup now (eager policy). Failures are logged, and the provider is
  // warmed again before its first load.
  void WarmupProviders();
  bool HasProvider(std::string_view id) const { return providers_.Contains(id); }
  const ProviderTable& providers() const { return providers_; }

  // ---- Providers at run time ----
  // AlreadyExists for a taken id.
  Status AddProvider(ProviderSource source);
  // Swaps the provider under an existing id and rebinds the aliases that use it: their next load
  // uses the new provider, and loads of the old one still in flight are fenced off. Live engines
  // keep serving (the caller reloads them). Returns the rebound aliases. NotFound.
  Result<std::vector<std::string>> ReplaceProvider(ProviderSource source);
  // NotFound; FailedPrecondition while aliases use it (the message lists them).
  Status RemoveProvider(std::string_view id);
  // Checks a spec against its provider. NotFound (unknown provider), InvalidArgument.
  Status Validate(const ModelSpec& spec) const;

  // ---- Loading ----
  // The alias's engine info, loading it (single-flight) when needed. Waits at most until ctx's
  // deadline or the load's own; NotFound for an unknown alias; Unavailable when the pool had no
  // room before the load deadline. A flight fenced off by a reload is followed by another.
  LoadResult Load(std::string_view alias, const CallContext& ctx);
  // Loads the aliases concurrently and waits for all; one status per alias, in order.
  std::vector<Status> LoadAll(const std::vector<std::string>& aliases);
  // Loads the aliases on a background thread; failures are logged.
  void LoadInBackground(std::vector<std::string> aliases);
  void WaitForBackground();
  // Retires the alias's engine (draining while calls hold it). NotFound for an unknown alias.
  Status Unload(std::string_view alias);
  size_t LoadsInFlight() const { return flights_.InFlight(); }

  // ---- Calls ----
  // A healthy engine for the alias (loading one if needed), in flight until the lease goes away.
  // `counted`: the caller's TryAcquire already counted this call's pool hit or miss.
  Result<Lease> Acquire(std::string_view alias, const CallContext& ctx, bool counted = false);
  // The alias's engine if one is live now, else nullopt (nothing loads). NotFound.
  Result<std::optional<Lease>> TryAcquire(std::string_view alias);
  // Runs `wait` on a thread of its own: an asynchronous call whose model must load first blocks
  // there, not on the caller's (a server's few dispatch threads). False after Shutdown began.
  bool SpawnLoadWaiter(std::function<void()> wait) { return waiters_.Spawn(std::move(wait)); }
  void RecordError(const ModelSpec& spec, const Status& status);
  // A call that completes on an engine's thread (GeneratorHandle::GenerateAsync) is counted from
  // its start until what it held has been dropped: Shutdown cancels those still running and waits
  // for them, so no engine outlives the runtime on SerialQueue::AfterCalls (at exit, after the
  // loggers its destructor writes to are gone). Returns the key for AsyncCallEnded.
  uint64_t AsyncCallStarted(const std::shared_ptr<CancelSignal>& cancel) EXCLUDES(async_mu_);
  void AsyncCallEnded(uint64_t key) EXCLUDES(async_mu_);

  // ---- Reload primitives (Reconciler drives them, one reload per
  // alias at a time) -- Validates `new_spec` (nullopt: the current spec) for `alias`. NotFound,
  // InvalidArgument (alias or task differ, provider rejects the options).
  Result<ReloadTarget> PrepareReload(std::string_view alias, std::optional<ModelSpec> new_spec);
  // Provider warmup, provider Load and the model's Warmup, with exceptions turned into Status.
  // A spec with deployments loads each through its own provider into one DeploymentSet.
  ModelResult LoadModel(const ModelSpec& spec, Provider& provider, const CallContext& ctx);
  // The load sequence, for loads and reloads alike: reserve `estimate` bytes under `key`
  // (evicting idle engines, or waiting up to ctx's deadline), LoadModel, then resize the
  // reservation to what the engine reports. `wait_for_room` wraps both waits for room (a load
  // marks its flight as waiting: MakeRoom). Installing is the caller's (CommitLoad, CommitReload).
  struct LoadedEngine {
    EnginePool::Reservation room;
    std::shared_ptr<Model> model;
  };
  using RoomWait = std::function<Status(const std::function<Status()>& wait)>;
  Result<LoadedEngine> LoadEngine(const EngineKey& key, int64_t estimate, const ModelSpec& spec,
                                  Provider& provider, const CallContext& ctx,
                                  const RoomWait& wait_for_room = {});
  // Bytes to reserve before loading `spec` under `key`: the key's last engine size when the file is
  // the same, else the provider's estimate (the engine's real size comes at Resize).
  int64_t EstimateBytes(const EngineKey& key, const ModelSpec& spec, const ModelSpec& last,
                        const Provider& provider);
  // Installs the reloaded engine under a new fence and makes new_spec the alias's spec. NotFound
  // when the alias was removed meanwhile (the engine is then dropped).
  Result<EnginePool::Installed> CommitReload(const ReloadTarget& target,
                                             EnginePool::Reservation reservation,
                                             std::shared_ptr<Model> model);
  // Replaces the spec of an alias that has no live engine (and fences off loads of the old).
  Status UpdateSpec(const ModelSpec& spec);
  // A reload that failed: its error and time join the alias's status (the old engine serves on).
  void RecordReloadFailure(std::string_view alias, const Status& error);
  // A CallContext for a load: deadline now + timeout, cancelled by Shutdown.
  CallContext LoadContext(std::chrono::milliseconds timeout, const std::string& request_id) const;

  EnginePool& pool() { return *pool_; }
  const EnginePool& pool() const { return *pool_; }
  const VersionHistory& history() const { return history_; }
  MetricsRegistry& metrics() { return *metrics_; }
  std::shared_ptr<MetricsRegistry> shared_metrics() { return metrics_; }

  // Cancels running loads and asynchronous calls, waits for them and joins every thread.
  // Idempotent.
  void Shutdown();

  // Where `store://` models resolve (and, with `pull: true`, are pulled on first load). Set once,
  // before the first load; without it a store:// model fails to load with FailedPrecondition.
  void SetModelStore(std::shared_ptr<store::ModelStore> store) { store_ = std::move(store); }

 private:
  ModelResult LoadOneModel(const ModelSpec& spec, Provider& provider, const CallContext& ctx);
  ModelResult LoadDeployments(const ModelSpec& spec, const CallContext& ctx);
  struct Entry {
    std::shared_ptr<const ModelSpec> spec;  // replaced whole on a change, never edited
    std::shared_ptr<Provider> provider;
    std::shared_ptr<const AliasMetrics> metrics;
    EngineKey key;
    uint64_t epoch = 0;             // the fence this spec's loads install under
    uint64_t loading_flight = 0;    // the flight loading the alias now (0 = none)
    uint64_t room_wait_flight = 0;  // a flight that was (last) waiting for room in the pool
    bool failed = false;            // the last load failed (and nothing was loaded since)
    std::string last_error;         // of the last failed load or reload
    std::optional<std::chrono::system_clock::time_point> failed_at;
    uint64_t generation = 0;  // the newest generation installed
    ModelInfo info;           // of that engine
    std::optional<std::chrono::system_clock::time_point> last_used;
  };
  // What a load thread needs, copied from the entry when its flight starts.
  struct LoadJob {
    ModelSpec spec;
    std::shared_ptr<Provider> provider;
    EngineKey key;
    uint64_t epoch = 0;
    uint64_t min_generation = 0;
  };
  using Flights = SingleFlight<std::string, LoadResult>;

  // One round of Load: joins or starts the alias's flight.
  LoadResult LoadOnce(const std::string& alias, const CallContext& ctx);
  // SingleFlight's start callback: answers at once when loaded, else spawns RunLoad.
  std::optional<LoadResult> StartLoad(const Flights::FlightPtr& flight);
  // Runs `wait` (a Reserve or Resize) with the entry marked as waiting for room for `flight_id`,
  // so that a flight that expires meanwhile reports Unavailable rather than a slow load.
  Status MakeRoom(const std::string& alias, uint64_t flight_id,
                  const std::function<Status()>& wait);
  // On a load thread: reserve room, load, resize, then commit and finish the flight.
  void RunLoad(const Flights::FlightPtr& flight, const LoadJob& job);
  // Installs a finished load (before the flight's entry leaves the map); returns what the flight's
  // waiters get.
  LoadResult CommitLoad(const LoadJob& job, uint64_t flight_id, ModelResult loaded,
                        std::optional<EnginePool::Reservation> room, double seconds);
  // Records a newly installed engine in the entry and the version history.
  void RecordInstalled(Entry& entry, const ModelSpec& spec, const EnginePool::Installed& installed)
      REQUIRES(mu_);
  // A flight passed its deadline: the alias is failed (if that flight still owns it).
  void OnLoadAbandoned(const std::string& alias, uint64_t flight_id);
  void Release(const std::string& alias);
  // `live_model`, when given, receives the live engine: its Occupancy is read after mu_ is
  // released (it takes the engine's own lock).
  ModelStatus StatusOf(const Entry& entry, std::shared_ptr<Model>* live_model = nullptr) const
      REQUIRES(mu_);
  std::shared_ptr<const AliasMetrics> MetricsFor(const ModelSpec& spec);
  EngineOptions EngineOptionsOf(const ModelSpec& spec, const Model& model) const;

  ProviderTable providers_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  // Shared by every load's CallContext: Shutdown sets it so providers stop early.
  const std::shared_ptr<CancelSignal> loads_cancel_ = std::make_shared<CancelSignal>();
  std::unique_ptr<EnginePool> pool_;
  VersionHistory history_;
  std::shared_ptr<store::ModelStore> store_;  // set before loads start; read-only after
  std::atomic<uint64_t> next_epoch_{0};

  mutable Mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ GUARDED_BY(mu_);

  // Asynchronous calls (a leaf lock). Cancelling calls_cancel_ cancels every one still running.
  const std::shared_ptr<CancelSignal> calls_cancel_ = std::make_shared<CancelSignal>();
  Mutex async_mu_;
  CondVar async_cv_;
  int64_t async_calls_ GUARDED_BY(async_mu_) = 0;

  Flights flights_;
  ThreadGroup loads_;       // provider Loads
  ThreadGroup background_;  // background warmups (they wait on loads_)
  ThreadGroup waiters_;     // asynchronous calls waiting for their model to load
};

// Where a spec came from, for messages: its origin, else "model 'alias'".
std::string OriginOf(const ModelSpec& spec);

}  // namespace modelrt::internal
