// Shared set-up for the runtime tests: the REAL llama provider (wrapped in the fault-injecting
// test double only where a test needs a fault), the real stories260K generator and a generated
// BERT embedder.
//
//   auto provider = MakeFaultyLlama();
//   auto runtime = BuildRuntime(provider, {ChatSpec("chat")});
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catalog/options_json.h"
#include "modelrt/provider.h"
#include "modelrt/runtime.h"
#include "support/fault_injecting_provider.h"
#include "support/llama_test_models.h"

namespace modelrt::runtime_test {

using namespace std::chrono_literals;
using testing::FaultInjectingProvider;

inline std::string StoriesPath() { return MODELRT_SOURCE_DIR "/models/stories260K.gguf"; }

inline std::shared_ptr<Provider> MakeLlama() {
  auto provider = CreateProvider(ProviderConfig{.id = "local", .type = "llama"});
  EXPECT_TRUE(provider.ok()) << provider.error().ToString();
  return provider.ok() ? *provider : nullptr;
}

inline std::shared_ptr<FaultInjectingProvider> MakeFaultyLlama() {
  return std::make_shared<FaultInjectingProvider>(MakeLlama());
}

// The stories260K generator (a real 260K-parameter llama).
inline ModelSpec ChatSpec(const std::string& alias = "chat") {
  ModelSpec spec;
  spec.alias = alias;
  spec.task = Task::kGenerate;
  spec.provider = "local";
  spec.model = StoriesPath();
  // Small context and few slots: cheaper loads on a busy test machine.
  spec.options = MakeOptions({{"ctx", 256}, {"parallel", 2}});
  spec.origin = "test.yaml: models[" + alias + "]";
  return spec;
}

// A generated random-weight BERT embedder (written once per test process).
inline std::string EmbedModelPath() {
  return testing::TestModel(llama::TestModelKind::kBertEmbed);
}

inline ModelSpec EmbedSpec(const std::string& alias = "embed") {
  ModelSpec spec;
  spec.alias = alias;
  spec.task = Task::kEmbed;
  spec.provider = "local";
  spec.model = EmbedModelPath();
  spec.origin = "test.yaml: models[" + alias + "]";
  return spec;
}

// The generated BERT cross-encoder as a rerank alias.
inline ModelSpec RerankSpec(const std::string& alias = "rerank") {
  ModelSpec spec = EmbedSpec(alias);
  spec.task = Task::kRerank;
  spec.model = testing::TestModel(llama::TestModelKind::kBertRerank);
  return spec;
}

inline GenerateRequest ShortRequest(int max_tokens = 8) {
  GenerateRequest request;
  request.prompt = "Once upon a time";
  request.sampling.temperature = 0;
  request.sampling.seed = 1;
  request.max_tokens = max_tokens;
  return request;
}

inline std::unique_ptr<ModelRuntime> BuildRuntime(std::shared_ptr<Provider> provider,
                                                  std::vector<ModelSpec> specs) {
  ModelRuntime::Builder builder;
  builder.AddProvider(std::move(provider));
  for (auto& spec : specs) builder.AddModel(std::move(spec));
  auto runtime = builder.Build();
  EXPECT_TRUE(runtime.ok()) << runtime.error().ToString();
  return runtime.ok() ? *std::move(runtime) : nullptr;
}

inline ModelState StateOf(const ModelRuntime& runtime, const std::string& alias) {
  auto status = runtime.Describe(alias);
  EXPECT_TRUE(status.ok()) << status.error().ToString();
  return status.ok() ? status->state : ModelState::kUnloaded;
}

inline double CounterValue(ModelRuntime& runtime, const std::string& name, const Labels& labels) {
  return runtime.metrics().GetCounter(name, "", labels).Value();
}

// Polls `done` every 10 ms for at most `limit`: a bound on waiting, not a timing assertion.
template <typename Pred>
bool WaitFor(Pred done, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A generation held open inside its first piece until Finish(): a call in flight.
class HeldGeneration {
 public:
  explicit HeldGeneration(GeneratorHandle handle) {
    thread_ = std::thread([this, handle] {
      result_ = handle.Generate(ShortRequest(16), [this](std::string_view) {
        if (!in_piece_.exchange(true)) WaitFor([this] { return release_.load(); }, 60s);
        return true;
      });
    });
  }
  ~HeldGeneration() { Finish(); }
  bool Started() {
    return WaitFor([this] { return in_piece_.load(); });
  }
  Result<GenerateResult>& Finish() {
    release_.store(true);
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  std::atomic<bool> in_piece_{false}, release_{false};
  Result<GenerateResult> result_ = InternalError("not run");
  std::thread thread_;
};

}  // namespace modelrt::runtime_test
