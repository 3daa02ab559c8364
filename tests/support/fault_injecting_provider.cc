#include "support/fault_injecting_provider.h"

#include <thread>

namespace modelrt::testing {
namespace {

// Sleeps `d`, or until ctx is cancelled (so a runtime shutting down is not held up).
void SleepUnlessCancelled(std::chrono::milliseconds d, const CallContext& ctx) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until && !ctx.cancelled()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class FaultyEmbeddingModel : public EmbeddingModel {
 public:
  FaultyEmbeddingModel(std::shared_ptr<EmbeddingModel> real, std::shared_ptr<FaultState> faults)
      : real_(std::move(real)), faults_(std::move(faults)), index_(faults_->NextModelIndex()) {}
  ModelInfo Info() const override { return real_->Info(); }
  Status Warmup() override { return real_->Warmup(); }
  Status Health() const override {
    if (Status s = faults_->HealthOf(index_); !s.ok()) return s;
    return real_->Health();
  }
  Result<EmbedResult> Embed(const EmbedRequest& request, const CallContext& ctx) override {
    if (Status s = faults_->NextCall(); !s.ok()) return s;
    return real_->Embed(request, ctx);
  }

 private:
  std::shared_ptr<EmbeddingModel> real_;
  std::shared_ptr<FaultState> faults_;
  const int index_;
};

class FaultyRerankerModel : public RerankerModel {
 public:
  FaultyRerankerModel(std::shared_ptr<RerankerModel> real, std::shared_ptr<FaultState> faults)
      : real_(std::move(real)), faults_(std::move(faults)), index_(faults_->NextModelIndex()) {}
  ModelInfo Info() const override { return real_->Info(); }
  Status Warmup() override { return real_->Warmup(); }
  Status Health() const override {
    if (Status s = faults_->HealthOf(index_); !s.ok()) return s;
    return real_->Health();
  }
  Result<RerankResult> Rerank(const RerankRequest& request, const CallContext& ctx) override {
    if (Status s = faults_->NextCall(); !s.ok()) return s;
    return real_->Rerank(request, ctx);
  }

 private:
  std::shared_ptr<RerankerModel> real_;
  std::shared_ptr<FaultState> faults_;
  const int index_;
};

class FaultyGeneratorModel : public GeneratorModel {
 public:
  FaultyGeneratorModel(std::shared_ptr<GeneratorModel> real, std::shared_ptr<FaultState> faults)
      : real_(std::move(real)), faults_(std::move(faults)), index_(faults_->NextModelIndex()) {}
  ModelInfo Info() const override { return real_->Info(); }
  Status Warmup() override { return real_->Warmup(); }
  Status Health() const override {
    if (Status s = faults_->HealthOf(index_); !s.ok()) return s;
    return real_->Health();
  }
  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece,
                                  const CallContext& ctx) override {
    if (Status s = faults_->NextCall(); !s.ok()) return s;
    Result<GenerateResult> result = real_->Generate(request, on_piece, ctx);
    if (!result) return result;
    if (Status s = faults_->NextStreamedFailure(); !s.ok()) return s;
    return result;
  }

 private:
  std::shared_ptr<GeneratorModel> real_;
  std::shared_ptr<FaultState> faults_;
  const int index_;
};

}  // namespace

Status FaultState::NextCall() {
  model_calls_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  if (calls_to_fail_ <= 0) return OkStatus();
  --calls_to_fail_;
  return call_status_;
}

void FaultState::FailNextCalls(int n, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_to_fail_ = n;
  call_status_ = std::move(status);
}

Status FaultState::NextStreamedFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  if (streamed_to_fail_ <= 0) return OkStatus();
  --streamed_to_fail_;
  return streamed_status_;
}

void FaultState::FailNextCallsAfterStreaming(int n, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  streamed_to_fail_ = n;
  streamed_status_ = std::move(status);
}

Status FaultState::HealthOf(int index) {
  std::lock_guard<std::mutex> lock(mu_);
  return index < unhealthy_below_ ? health_status_ : OkStatus();
}

void FaultState::BreakModelsBelow(int below, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  unhealthy_below_ = below;
  health_status_ = std::move(status);
}

void FaultInjectingProvider::BreakLoadedModels(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_->BreakModelsBelow(static_cast<int>(loaded_.size()), std::move(status));
}

FaultInjectingProvider::FaultInjectingProvider(std::shared_ptr<Provider> real)
    : real_(std::move(real)) {}

Status FaultInjectingProvider::Warmup() {
  warmup_calls_.fetch_add(1);
  return real_->Warmup();
}

void FaultInjectingProvider::SetLoadDelay(std::chrono::milliseconds before,
                                          std::chrono::milliseconds after) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_before_ = before;
  delay_after_ = after;
}

void FaultInjectingProvider::FailNextLoads(int n, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  loads_to_fail_ = n;
  load_status_ = std::move(status);
}

void FaultInjectingProvider::SetHangUntilDeadline(bool hang) {
  std::lock_guard<std::mutex> lock(mu_);
  hang_ = hang;
}

std::vector<std::weak_ptr<Model>> FaultInjectingProvider::loaded_models() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_;
}

Result<std::shared_ptr<Model>> FaultInjectingProvider::Load(const ModelSpec& spec,
                                                            const CallContext& ctx) {
  load_calls_.fetch_add(1);
  std::chrono::milliseconds before, after;
  bool hang;
  Status injected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    before = delay_before_;
    after = delay_after_;
    hang = hang_;
    if (loads_to_fail_ > 0) {
      --loads_to_fail_;
      injected = load_status_;
    }
  }
  if (!injected.ok()) return injected;
  if (hang) {
    while (!ctx.expired() && !ctx.cancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (ctx.cancelled()) return CancelledError("injected hang: cancelled");
    return DeadlineExceededError("injected hang: load deadline passed");
  }
  SleepUnlessCancelled(before, ctx);
  Result<std::shared_ptr<Model>> loaded = real_->Load(spec, ctx);
  if (!loaded) return loaded;
  SleepUnlessCancelled(after, ctx);  // ignores the deadline on purpose: a late result

  std::shared_ptr<Model> wrapped;
  std::shared_ptr<Model> model = *std::move(loaded);
  switch (model->task()) {
    case Task::kEmbed:
      wrapped = std::make_shared<FaultyEmbeddingModel>(
          std::static_pointer_cast<EmbeddingModel>(model), faults_);
      break;
    case Task::kRerank:
      wrapped = std::make_shared<FaultyRerankerModel>(
          std::static_pointer_cast<RerankerModel>(model), faults_);
      break;
    case Task::kGenerate:
      wrapped = std::make_shared<FaultyGeneratorModel>(
          std::static_pointer_cast<GeneratorModel>(model), faults_);
      break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  loaded_.push_back(wrapped);
  return wrapped;
}

}  // namespace modelrt::testing
