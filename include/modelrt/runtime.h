// ModelRuntime: aliases in, ready-to-call typed handles out.
//
//   MODELRT_ASSIGN_OR_RETURN(auto runtime, ModelRuntime::Builder()
//                                              .SetConfig(config)   // providers + catalog
//                                              .Build());           // eager warmup runs here
//   MODELRT_ASSIGN_OR_RETURN(auto embedder, runtime->Embedding("embed-small"));
//   MODELRT_ASSIGN_OR_RETURN(EmbedResult r, embedder.Embed({.inputs = {{.text = "hi"}}}));
//
// A handle resolves its model on each call: it checks the alias's engine out of the runtime's
// engine pool (memory budget, max count, LRU, idle TTL, keep-alive, pins, health; its settings and
// statistics in modelrt/pool.h), and on a miss (never loaded, evicted, unloaded, unhealthy) the call, Prefetch or eager warmup
// loads it through a single-flight loader — one provider Load per alias however many callers wait;
// the per-alias in-flight map is empty again once the load succeeds, fails or times out. Handles
// add the alias's per-call timeout, retries with exponential backoff and jitter on retryable
// errors, and metrics (calls, errors, latency, load time) in the runtime's MetricsRegistry. Results
// say which engine generation served them.
//
// Lifecycle (modelrt/lifecycle.h, runtime->lifecycle()): Register, Load, Unload, Reload swaps a new
// engine in with no failed calls (in-flight calls finish on the old engine), ApplyConfig applies a
// re-read config, and optionally changed model files trigger reloads. A failed reload leaves the
// old engine serving.
//
// Model states:
//
//   unloaded ──load──► loading ──ok──► loaded ──Reload──► loaded (next generation)
//      ▲                  │              │
//      │                  │              └──Unload / evicted (LRU, TTL, health)──► unloaded
//      │                  │                  (draining while calls still hold the engine)
//      │                  └──error/timeout/no room──► failed ──next call──► loading
//      └──────────────── Unload ◄──────────────────────┘
//
// Thread-safety: ModelRuntime and its handles are thread-safe. Handles keep the runtime's
// internals alive; they must not be used after the runtime is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/metrics.h"
#include "modelrt/model.h"
#include "modelrt/pool.h"
#include "modelrt/provider.h"
#include "modelrt/registry.h"
#include "modelrt/reload.h"
#include "modelrt/status.h"

namespace modelrt {

class RuntimeLifecycle;

enum class ModelState { kUnloaded, kLoading, kLoaded, kFailed, kDraining };
std::string_view ToString(ModelState state);

// Whether providers' own Warmup() runs at Build (eager) or before their first load (lazy).
enum class ProviderWarmup { kEager, kLazy };

struct ModelStatus {
  ModelSpec spec;
  ModelState state = ModelState::kUnloaded;
  // The last failed load or reload, until an engine is installed. A failed reload leaves the old
  // engine serving: the state stays loaded and these say why the new spec is not running.
  std::string last_error;
  std::optional<std::chrono::system_clock::time_point> failed_at;
  ModelInfo info;           // valid when loaded
  int64_t in_flight = 0;    // calls running now (on the live and on draining engines)
  ModelOccupancy occupancy;  // the live engine's queue and KV cache, when loaded
  uint64_t generation = 0;  // increments on every successful load or reload
  std::optional<std::chrono::system_clock::time_point> last_used;
  std::string device = "cpu";  // where its engine runs: "cpu", or "gpu" when layers are offloaded
};

namespace internal {
class RuntimeCore;
class Reconciler;
}  // namespace internal

class EmbeddingHandle;
class RerankerHandle;
class GeneratorHandle;

class ModelRuntime {
 public:
  class Builder {
   public:
    Builder();
    // Providers from config.providers (created with CreateProvider), the models catalog, the
    // pool limits (SetPoolConfig(config.pool)) and the reload options from config.reload (a later
    // SetReloadOptions overrides them).
    Builder& SetConfig(const Config& config);
    // Pool limits from a config's `pool` section.
    Builder& SetPoolConfig(const PoolConfig& pool);
    // Every pool option (a test clock, the maintenance period, an eviction callback); overrides
    // SetPoolConfig. A null metrics registry means the runtime's.
    Builder& SetPoolOptions(PoolOptions options);
    // Version history and reload log sizes, model file watching.
    Builder& SetReloadOptions(ReloadOptions options);
    Builder& AddProvider(std::shared_ptr<Provider> provider);
    Builder& AddModel(ModelSpec spec);
    Builder& SetProviderWarmup(ProviderWarmup policy);
    Builder& SetMetrics(std::shared_ptr<MetricsRegistry> metrics);
    // Validates every spec against its provider, warms up providers (if eager) and loads eager
    // models. A failed `required` eager model fails Build; an optional one is logged.
    // Background models start loading on a background thread.
    Result<std::unique_ptr<ModelRuntime>> Build();

   private:
    Config config_;
    // With the config each was created from (SetConfig), none for AddProvider's.
    std::vector<std::pair<std::shared_ptr<Provider>, std::optional<ProviderConfig>>> providers_;
    std::vector<ModelSpec> models_;
    ProviderWarmup provider_warmup_ = ProviderWarmup::kEager;
    std::shared_ptr<MetricsRegistry> metrics_;
    PoolConfig pool_config_;
    std::optional<PoolOptions> pool_options_;
    ReloadOptions reload_options_;
    Status deferred_error_;
  };

  ~ModelRuntime();
  ModelRuntime(const ModelRuntime&) = delete;
  ModelRuntime& operator=(const ModelRuntime&) = delete;

  // NotFound for an unknown alias; CapabilityMismatch when the alias has another task.
  // Does not load: the first call on the handle does.
  Result<EmbeddingHandle> Embedding(std::string_view alias);
  Result<RerankerHandle> Reranker(std::string_view alias);
  Result<GeneratorHandle> Generator(std::string_view alias);

  // What is served: every alias with its state, or one (NotFound).
  std::vector<ModelStatus> List() const;
  Result<ModelStatus> Describe(std::string_view alias) const;
  bool Contains(std::string_view alias) const;

  // The catalog's lifecycle and the runtime's administration (register, load, reload,
  // reconcile, providers): apart from inference, for the control plane and admin tools.
  RuntimeLifecycle& lifecycle() { return *lifecycle_; }
  const RuntimeLifecycle& lifecycle() const { return *lifecycle_; }

  // ---- The engine pool ----
  // Engines are reached only through aliases: evicting behind the runtime's back is not offered.
  PoolStats PoolStatus() const;
  // Blocks until background warmups started by Build or Register have finished.
  void WaitForBackgroundWarmup();

  // Aliases whose load is in flight right now (the single-flight map's size).
  size_t LoadsInFlight() const;
  MetricsRegistry& metrics();
  std::shared_ptr<MetricsRegistry> shared_metrics();

 private:
  ModelRuntime(std::shared_ptr<internal::RuntimeCore> core,
               std::unique_ptr<internal::Reconciler> reloads);
  std::shared_ptr<internal::RuntimeCore> core_;
  std::unique_ptr<RuntimeLifecycle> lifecycle_;
};

// Common part of the typed handles.
class ModelHandle {
 public:
  const std::string& alias() const { return alias_; }
  // The spec as registered; the runtime's copy may change after a reload.
  ModelSpec spec() const;
  // Loads now if needed (single-flight) and returns the model's info.
  Result<ModelInfo> Load() const;

 protected:
  ModelHandle(std::shared_ptr<internal::RuntimeCore> core, std::string alias)
      : core_(std::move(core)), alias_(std::move(alias)) {}
  std::shared_ptr<internal::RuntimeCore> core_;
  std::string alias_;
};

class EmbeddingHandle : public ModelHandle {
 public:
  Result<EmbedResult> Embed(const EmbedRequest& request, CallContext ctx = {}) const;
  // The same call without a thread waiting for it, as GeneratorHandle::GenerateAsync: `done`
  // runs exactly once, on the engine's thread (short work only) or here for an early error.
  // A model that must load first is waited for on a thread of the runtime's, not the caller's.
  void EmbedAsync(EmbedRequest request, CallContext ctx, EmbedDone done) const;

 private:
  friend class ModelRuntime;
  using ModelHandle::ModelHandle;
};

class RerankerHandle : public ModelHandle {
 public:
  Result<RerankResult> Rerank(const RerankRequest& request, CallContext ctx = {}) const;
  // As EmbeddingHandle::EmbedAsync; the request is kept until `done` (the ranking reads it).
  void RerankAsync(RerankRequest request, CallContext ctx, RerankDone done) const;

 private:
  friend class ModelRuntime;
  using ModelHandle::ModelHandle;
};

class GeneratorHandle : public ModelHandle {
 public:
  // Retries happen only before the first piece reached `on_piece`.
  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece = {},
                                  CallContext ctx = {}) const;
  // The same call without a thread waiting for it (a server holding thousands of streams):
  // returns once the engine has the request, or at once when the model must load first (a
  // thread of the runtime's waits for the load, not the caller's); `on_piece` and `done` run
  // later on the engine's thread (see GeneratorModel::GenerateAsync) and must be short. `done`
  // runs exactly once. Not retried: a failure reaches `done` as it is.
  void GenerateAsync(GenerateRequest request, TokenCallback on_piece, CallContext ctx,
                     GenerateDone done) const;
  // The model's tokenizer and chat template (GeneratorModel::Tokenize, Detokenize,
  // RenderPrompt), loading the model if needed. No fallbacks: another model tokenizes
  // differently.
  Result<std::vector<int32_t>> Tokenize(std::string_view text, bool add_special,
                                        CallContext ctx = {}) const;
  Result<std::string> Detokenize(const std::vector<int32_t>& tokens, CallContext ctx = {}) const;
  Result<std::string> RenderPrompt(const GenerateRequest& request, CallContext ctx = {}) const;

 private:
  friend class ModelRuntime;
  using ModelHandle::ModelHandle;
};

}  // namespace modelrt
