// RuntimeCore: the state behind ModelRuntime and its handles — the alias table (spec, state,
// loaded model, generation, in-flight calls, last use, last error), the single-flight loader and
// the threads that run loads and background warmups.
//
//   auto core = std::make_shared<RuntimeCore>(providers, metrics);
//   MODELRT_RETURN_IF_ERROR(core->AddSpec(spec));
//   MODELRT_ASSIGN_OR_RETURN(RuntimeCore::Lease lease, core->Acquire("chat", ctx));
//   lease.model();   // held by the lease: an Unload meanwhile does not free it under the call
//
// Loading: Load() joins or starts the alias's flight (SingleFlight). The provider's Load runs on
// a thread of `loads_` with a CallContext whose deadline is now + spec.load_timeout; its result
// is installed in the table before the flight's map entry goes away (so a later caller sees
// `loaded`, never a second load). A flight past its deadline is abandoned: state `failed`, and
// the late result, if any, is dropped by the load thread.
//
// Lock order: SingleFlight's mutex, then mu_. Nothing calls into the SingleFlight with mu_ held.
//
// Thread-safety: thread-safe. Shutdown() (also run by the destructor) cancels running loads
// and joins every thread it started; threads reach the core by raw pointer, which is safe
// because none outlives Shutdown.
#pragma once

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
#include "modelrt/runtime.h"
#include "runtime/single_flight.h"
#include "runtime/thread_group.h"

namespace modelrt::internal {

// The metric series of one alias that every call touches, looked up once at registration.
struct AliasMetrics {
  Counter* calls = nullptr;
  Histogram* call_seconds = nullptr;
  Counter* retries = nullptr;
};

class RuntimeCore {
 public:
  using LoadResult = Result<std::shared_ptr<Model>>;

  // A loaded model held for one call: counts as in flight until destroyed.
  class Lease {
   public:
    Lease(RuntimeCore* core, std::string alias, std::shared_ptr<Model> model)
        : core_(core), alias_(std::move(alias)), model_(std::move(model)) {}
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Model& model() const { return *model_; }

   private:
    RuntimeCore* core_;
    std::string alias_;
    std::shared_ptr<Model> model_;
  };

  // What a call needs before it starts: the spec and its metric series.
  struct CallSetup {
    ModelSpec spec;
    std::shared_ptr<const AliasMetrics> metrics;
  };

  // Providers are warmed before their first load unless WarmupProviders() ran first.
  RuntimeCore(std::map<std::string, std::shared_ptr<Provider>> providers,
              std::shared_ptr<MetricsRegistry> metrics);
  ~RuntimeCore();
  RuntimeCore(const RuntimeCore&) = delete;
  RuntimeCore& operator=(const RuntimeCore&) = delete;

  // ---- The alias table ----
  // Checks the provider and the spec (errors name spec.origin) and adds the alias, unloaded.
  Status AddSpec(const ModelSpec& spec);
  void RemoveAlias(std::string_view alias);
  bool Contains(std::string_view alias) const;
  Result<ModelSpec> Spec(std::string_view alias) const;
  Result<CallSetup> PrepareCall(std::string_view alias) const;
  std::vector<ModelStatus> List() const;
  Result<ModelStatus> Describe(std::string_view alias) const;

  // Runs every provider's Warmup now (eager policy). Failures are logged, and the provider is
  // warmed again before its first load.
  void WarmupProviders();

  // ---- Loading ----
  // The alias's model, loading it (single-flight) when needed. Waits at most until ctx's
  // deadline or the load's own; NotFound for an unknown alias.
  LoadResult Load(std::string_view alias, const CallContext& ctx);
  // Loads the aliases concurrently and waits for all; one status per alias, in order.
  std::vector<Status> LoadAll(const std::vector<std::string>& aliases);
  // Loads the aliases on a background thread; failures are logged.
  void LoadInBackground(std::vector<std::string> aliases);
  void WaitForBackground();
  Status Unload(std::string_view alias);
  size_t LoadsInFlight() const { return flights_.InFlight(); }

  // ---- Calls ----
  // The loaded model (loading it if needed), counted as in flight until the lease goes away.
  Result<Lease> Acquire(std::string_view alias, const CallContext& ctx);
  void RecordError(const ModelSpec& spec, const Status& status);

  MetricsRegistry& metrics() { return *metrics_; }
  std::shared_ptr<MetricsRegistry> shared_metrics() { return metrics_; }

  // Cancels running loads and joins every thread. Idempotent.
  void Shutdown();

 private:
  struct Entry {
    ModelSpec spec;
    std::shared_ptr<Provider> provider;
    std::shared_ptr<const AliasMetrics> metrics;
    ModelState state = ModelState::kUnloaded;
    std::shared_ptr<Model> model;
    ModelInfo info;
    uint64_t generation = 0;
    int64_t in_flight = 0;
    std::optional<std::chrono::system_clock::time_point> last_used;
    std::string last_error;
    uint64_t flight_id = 0;  // the load attempt that `kLoading` belongs to
  };
  using Flights = SingleFlight<std::string, LoadResult>;

  // SingleFlight's start callback: answers at once when loaded, else spawns RunLoad.
  std::optional<LoadResult> StartLoad(const Flights::FlightPtr& flight);
  // On a load thread: provider warmup (lazy policy), provider Load, the model's own Warmup,
  // then publish.
  void RunLoad(const Flights::FlightPtr& flight, const ModelSpec& spec,
               const std::shared_ptr<Provider>& provider);
  // Installs a finished load's result (before the flight's entry leaves the map).
  void CommitLoad(const ModelSpec& spec, uint64_t flight_id, const LoadResult& result,
                  double seconds);
  // A flight passed its deadline: the alias is failed (if that flight still owns it).
  void OnLoadAbandoned(const std::string& alias, uint64_t flight_id);
  Status EnsureProviderWarm(Provider& provider);
  void Release(const std::string& alias);
  ModelStatus StatusOf(const Entry& entry) const REQUIRES(mu_);
  std::shared_ptr<const AliasMetrics> MetricsFor(const ModelSpec& spec);

  const std::map<std::string, std::shared_ptr<Provider>> providers_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  // Shared by every load's CallContext: Shutdown sets it so providers stop early.
  const std::shared_ptr<std::atomic<bool>> loads_cancel_ = std::make_shared<std::atomic<bool>>();

  mutable Mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ GUARDED_BY(mu_);

  // Per provider, so a slow Warmup (a remote health check) holds up only its own loads.
  struct WarmState {
    Mutex mu;  // held across Warmup: one at a time, and later loads wait for it
    bool warm GUARDED_BY(mu) = false;
  };
  std::map<std::string, std::unique_ptr<WarmState>> warm_;  // fixed after construction

  Flights flights_;
  ThreadGroup loads_;       // provider Loads
  ThreadGroup background_;  // background warmups (they wait on loads_)
};

// Where a spec came from, for messages: its origin, else "model 'alias'".
std::string OriginOf(const ModelSpec& spec);

}  // namespace modelrt::internal
