// Provider: something that turns an alias spec into a loaded model — llama.cpp in process, or a
// remote HTTP API. Providers are created from a ProviderConfig by type:
//
//   MODELRT_ASSIGN_OR_RETURN(auto provider, CreateProvider({.id = "local", .type = "llama"}));
//   MODELRT_ASSIGN_OR_RETURN(auto model, provider->Load(spec, CallContext::WithTimeout(600s)));
//
// Thread-safety: implementations are thread-safe; Load may run for several specs at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/options.h"
#include "modelrt/status.h"

namespace modelrt {

// What loading a spec will cost, known before the load so that the pool can make room first.
struct LoadEstimate {
  int64_t memory_bytes = 0;    // resident bytes the engine will take (0: none, as a remote API)
  std::string device = "cpu";  // where it runs: "cpu", "gpu", or "remote" (holds no local
                               // resources: no memory budget, no max_loaded slot)
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual const std::string& id() const = 0;
  virtual std::string_view type() const = 0;
  // Checks a spec before any load: supported task, accepted options and their types.
  // Errors are InvalidArgument naming the option: "options.pooling: must be one of ...".
  virtual Status Validate(const ModelSpec& spec) const = 0;
  // Loads the model for `spec`. The returned model's task() equals spec.task. Honors ctx's
  // deadline and cancel flag where the engine allows (DeadlineExceeded / Cancelled).
  virtual Result<std::shared_ptr<Model>> Load(const ModelSpec& spec, const CallContext& ctx) = 0;
  // The cost of loading `spec` (a validated spec), before loading it: cheap, no I/O beyond a
  // stat. After the load, the model's Info().memory_bytes says what it really takes.
  virtual LoadEstimate Estimate(const ModelSpec& spec) const = 0;
  // One-time provider setup (backend init, connection check). Safe to call more than once.
  virtual Status Warmup() { return OkStatus(); }
  // What the provider reports about itself at run time, for /admin/providers/{id} and /metrics:
  // a remote provider's circuit breakers, {"breakers": {"<upstream model>": "open", ...}}.
  // Empty for providers with nothing to report. Cheap; no I/O.
  virtual Options State() const { return {}; }
};

// Creates a provider of config.type. NotFound for an unknown type; InvalidArgument for bad
// provider options.
Result<std::shared_ptr<Provider>> CreateProvider(const ProviderConfig& config);

// Provider types CreateProvider knows.
std::vector<std::string> ProviderTypes();

}  // namespace modelrt
