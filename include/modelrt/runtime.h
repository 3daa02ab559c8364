// ModelRuntime: aliases in, ready-to-call typed handles out.
//
//   MODELRT_ASSIGN_OR_RETURN(auto runtime, ModelRuntime::Builder()
//                                              .SetConfig(config)   // providers + catalog
//                                              .Build());           // eager warmup runs here
//   MODELRT_ASSIGN_OR_RETURN(auto embedder, runtime->Embedding("embed-small"));
//   MODELRT_ASSIGN_OR_RETURN(EmbedResult r, embedder.Embed({.inputs = {{.text = "hi"}}}));
//
// A handle resolves its model on each call: the first call (or Prefetch, or eager warmup) loads
// it through a single-flight loader — one provider Load per alias however many callers wait; the
// per-alias in-flight map is empty again once the load succeeds, fails or times out. Handles add
// the alias's per-call timeout, retries with exponential backoff and jitter on retryable errors,
// and metrics (calls, errors, latency, load time) in the runtime's MetricsRegistry.
//
// Model states:
//
//   unloaded ──load──► loading ──ok──► loaded
//      ▲                  │
//      │                  └──error/timeout──► failed ──next call──► loading
//      └──────────────── Unload ◄──────────────┘
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
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/metrics.h"
#include "modelrt/model.h"
#include "modelrt/provider.h"
#include "modelrt/status.h"

namespace modelrt {

enum class ModelState { kUnloaded, kLoading, kLoaded, kFailed, kDraining };
std::string_view ToString(ModelState state);

// Whether providers' own Warmup() runs at Build (eager) or before their first load (lazy).
enum class ProviderWarmup { kEager, kLazy };

struct ModelStatus {
  ModelSpec spec;
  ModelState state = ModelState::kUnloaded;
  std::string last_error;
  ModelInfo info;           // valid when loaded
  int64_t in_flight = 0;    // calls running now
  uint64_t generation = 0;  // increments on every successful load
  std::optional<std::chrono::system_clock::time_point> last_used;
};

namespace internal {
class RuntimeCore;
}

class EmbeddingHandle;
class RerankerHandle;
class GeneratorHandle;

class ModelRuntime {
 public:
  class Builder {
   public:
    Builder();
    // Providers from config.providers (created with CreateProvider) and the models catalog.
    Builder& SetConfig(const Config& config);
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
    std::vector<std::shared_ptr<Provider>> providers_;
    std::vector<ModelSpec> models_;
    ProviderWarmup provider_warmup_ = ProviderWarmup::kEager;
    std::shared_ptr<MetricsRegistry> metrics_;
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

  // Adds an alias at run time. AlreadyExists for a duplicate alias; NotFound for an unknown
  // provider; InvalidArgument for options the provider rejects. Honors the spec's warmup.
  Status Register(ModelSpec spec);
  bool Contains(std::string_view alias) const;
  std::vector<ModelStatus> List() const;
  Result<ModelStatus> Describe(std::string_view alias) const;

  // Loads the given aliases (concurrently) and waits; returns the first error.
  Status Prefetch(const std::vector<std::string>& aliases);
  Status PrefetchAll();
  // Drops the loaded engine; in-flight calls finish on it first.
  Status Unload(std::string_view alias);
  // Blocks until background warmups started by Build or Register have finished.
  void WaitForBackgroundWarmup();

  // Aliases whose load is in flight right now (the single-flight map's size).
  size_t LoadsInFlight() const;
  MetricsRegistry& metrics();
  std::shared_ptr<MetricsRegistry> shared_metrics();

 private:
  explicit ModelRuntime(std::shared_ptr<internal::RuntimeCore> core);
  std::shared_ptr<internal::RuntimeCore> core_;
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

 private:
  friend class ModelRuntime;
  using ModelHandle::ModelHandle;
};

class RerankerHandle : public ModelHandle {
 public:
  Result<RerankResult> Rerank(const RerankRequest& request, CallContext ctx = {}) const;

 private:
  friend class ModelRuntime;
  using ModelHandle::ModelHandle;
};

class GeneratorHandle : public ModelHandle {
 public:
  // Retries happen only before the first piece reached `on_piece`.
  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece = {},
                                  CallContext ctx = {}) const;

 private:
  friend class ModelRuntime;
  using ModelHandle::ModelHandle;
};

}  // namespace modelrt
