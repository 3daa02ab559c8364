// FaultInjectingProvider: a TEST DOUBLE for faults that a real provider cannot be made to show
// on demand. It wraps a real Provider (the llama provider in our tests) and, when asked, counts,
// delays, fails or hangs its loads, and makes the models it returns fail their next calls or
// their health checks. All real work is done by the wrapped provider and its models.
//
//   auto real = CreateProvider({.id = "local", .type = "llama"});
//   auto faulty = std::make_shared<FaultInjectingProvider>(*real);
//   faulty->FailNextLoads(1, UnavailableError("injected"));
//   faulty->FailNextCalls(2, UnavailableError("injected"));  // on models it loaded or will load
//   ... build a runtime with AddProvider(faulty) ...
//   EXPECT_EQ(faulty->load_calls(), 1);
//
// Thread-safety: thread-safe; faults may be set while loads and calls run.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "modelrt/provider.h"

namespace modelrt::testing {

// Fault settings shared by the provider and every model it returned.
class FaultState {
 public:
  // Consumes one injected call failure if any is left (OK otherwise) and counts the call.
  Status NextCall();
  void FailNextCalls(int n, Status status);
  // Like NextCall, for failures injected after a generation has streamed its text.
  Status NextStreamedFailure();
  void FailNextCallsAfterStreaming(int n, Status status);
  int model_calls() const { return model_calls_.load(); }
  // Health of the model with load index `index` (0 = the first model loaded).
  Status HealthOf(int index);
  // Models with an index below `below` answer Health() with `status` from now on.
  void BreakModelsBelow(int below, Status status);
  // Indexes handed to models as they are wrapped.
  int NextModelIndex() { return next_index_.fetch_add(1); }

 private:
  std::atomic<int> model_calls_{0};
  std::mutex mu_;
  int calls_to_fail_ = 0;
  Status call_status_;
  int streamed_to_fail_ = 0;
  Status streamed_status_;
  std::atomic<int> next_index_{0};
  int unhealthy_below_ = 0;
  Status health_status_;
};

class FaultInjectingProvider : public Provider {
 public:
  explicit FaultInjectingProvider(std::shared_ptr<Provider> real);

  const std::string& id() const override { return real_->id(); }
  std::string_view type() const override { return real_->type(); }
  Status Validate(const ModelSpec& spec) const override { return real_->Validate(spec); }
  LoadEstimate Estimate(const ModelSpec& spec) const override { return real_->Estimate(spec); }
  Result<std::shared_ptr<Model>> Load(const ModelSpec& spec, const CallContext& ctx) override;
  Status Warmup() override;

  // (a) Load calls that reached this provider, whatever their outcome.
  int load_calls() const { return load_calls_.load(); }
  int warmup_calls() const { return warmup_calls_.load(); }
  // (b) Sleeps this long before each real load (widens race windows; the real load still sees
  // the deadline) and/or after it, holding the loaded model and ignoring the deadline (a load
  // that finishes late, as an uncooperative engine would).
  void SetLoadDelay(std::chrono::milliseconds before, std::chrono::milliseconds after = {});
  // (c) The next n loads fail with `status` without reaching the real provider.
  void FailNextLoads(int n, Status status);
  // (d) Loads wait until their ctx's deadline (or cancel) and fail with DeadlineExceeded.
  void SetHangUntilDeadline(bool hang);
  // (e) The next n model calls (Embed/Rerank/Generate, on any model this provider returned)
  // fail with `status` before reaching the real model.
  void FailNextCalls(int n, Status status) { faults_->FailNextCalls(n, std::move(status)); }
  // (f) The next n generations run for real, streaming their pieces, then fail with `status`
  // (a failure after text reached the caller, which must not be retried).
  void FailNextGenerationsAfterStreaming(int n, Status status) {
    faults_->FailNextCallsAfterStreaming(n, std::move(status));
  }
  // (g) Every model loaded so far answers Health() with `status` (an engine that died); models
  // loaded later are healthy.
  void BreakLoadedModels(Status status);
  // Model calls that reached the wrappers, failed ones included (attempts, for retry tests).
  int model_calls() const { return faults_->model_calls(); }
  // The models handed out so far (weak: lets a test see that the runtime freed one).
  std::vector<std::weak_ptr<Model>> loaded_models() const;

 private:
  std::shared_ptr<Provider> real_;
  std::shared_ptr<FaultState> faults_ = std::make_shared<FaultState>();
  std::atomic<int> load_calls_{0};
  std::atomic<int> warmup_calls_{0};
  mutable std::mutex mu_;
  std::chrono::milliseconds delay_before_{0};
  std::chrono::milliseconds delay_after_{0};
  int loads_to_fail_ = 0;
  Status load_status_;
  bool hang_ = false;
  std::vector<std::weak_ptr<Model>> loaded_;
};

}  // namespace modelrt::testing
