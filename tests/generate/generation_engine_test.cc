// GenerationEngine: the reproducibility of batched decoding, checked on the logits themselves
// (bit for bit), which is far more sensitive than comparing sampled text.
#include "providers/llama/generation_engine.h"

#include <cstring>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace modelrt::llama {
namespace {

constexpr char kModelPath[] = MODELRT_SOURCE_DIR "/models/stories260K.gguf";

class GenerationEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LlamaModelOptions options;
    auto model = LoadLlamaModel(kModelPath, options, CallContext{});
    ASSERT_TRUE(model.ok()) << model.error().ToString();
    model_ = std::move(*model);
  }

  std::unique_ptr<GenerationEngine> MakeEngine(int parallel, int threads = 1, int ctx = 256) {
    GenerationEngine::Options options;
    options.parallel = parallel;
    options.ctx = ctx;
    options.batch = 32;  // small, so the longer prompts are decoded in several chunks
    options.max_queue = 64;
    options.observe_logits = [this](const GenerationRequest& r, const float* logits, int n) {
      MutexLock lock(mu_);
      logits_[&r].emplace_back(logits, logits + n);
    };
    auto engine = GenerationEngine::Create(model_.get(), options, threads);
    EXPECT_TRUE(engine.ok()) << engine.error().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // seed: unset = not reproducible under batching (random, or greedy like llama-server).
  std::shared_ptr<GenerationRequest> MakeRequest(const std::string& prompt, int max_tokens,
                                                 float temperature,
                                                 std::optional<uint32_t> seed) {
    GenerationInput input;
    input.prompt = Tokenize(llama_model_get_vocab(model_.get()), prompt, true, false);
    input.max_tokens = max_tokens;
    input.sampling.temperature = temperature;
    input.sampling.seed = seed;
    input.ignore_eos = true;  // fixed lengths: the schedule of joins and exits is ours
    return std::make_shared<GenerationRequest>(std::move(input));
  }

  // Waits for `request` and returns its text.
  static std::string Collect(GenerationRequest& request) {
    std::string text;
    std::vector<std::string> pieces;
    bool done = false;
    while (!done) {
      done = request.Wait(&pieces, Clock::now() + std::chrono::seconds(60));
      for (auto& p : pieces) text += p;
    }
    EXPECT_TRUE(request.outcome().status.ok()) << request.outcome().status.ToString();
    return text;
  }

  std::vector<std::vector<float>> LogitsOf(const GenerationRequest& r) {
    MutexLock lock(mu_);
    return logits_[&r];
  }

  LlamaModelPtr model_;
  Mutex mu_;
  std::map<const GenerationRequest*, std::vector<std::vector<float>>> logits_ GUARDED_BY(mu_);
};

struct Spec {
  std::string prompt;
  int max_tokens;
  float temperature;
};

const std::vector<Spec>& Workload() {
  static const std::vector<Spec> specs = {
      {"Once upon a time", 9, 0.8f},
      {"The little dog ran to the park and saw a big red ball. He wanted to play with it, so he "
       "ran as fast as he could",
       40, 0.0f},
      {"Lily and Tom", 17, 1.0f},
      {"One day", 33, 0.8f},
      {"The sun was", 5, 0.0f},
      {"Tim had a big box of toys. One day his mom said", 21, 0.7f},
      {"A", 26, 0.9f},
  };
  return specs;
}

void ExpectSameLogits(const std::vector<std::vector<float>>& alone,
                      const std::vector<std::vector<float>>& together, size_t request) {
  ASSERT_EQ(alone.size(), together.size()) << "request " << request;
  for (size_t step = 0; step < alone.size(); ++step) {
    ASSERT_EQ(alone[step].size(), together[step].size());
    EXPECT_EQ(0, std::memcmp(alone[step].data(), together[step].data(),
                             alone[step].size() * sizeof(float)))
        << "request " << request << ": logits differ at step " << step;
  }
}

// Every request of the workload asks for reproducibility with a seed, greedy ones included.
std::optional<uint32_t> SeedFor(const Spec&, size_t i) { return static_cast<uint32_t>(i); }

TEST_F(GenerationEngineTest, BatchedLogitsEqualSoloLogitsBitForBit) {
  auto engine = MakeEngine(/*parallel=*/3);
  ASSERT_TRUE(engine);
  const auto& specs = Workload();
  std::vector<std::shared_ptr<GenerationRequest>> alone, together;
  std::vector<std::string> alone_text;
  for (size_t i = 0; i < specs.size(); ++i) {
    alone.push_back(MakeRequest(specs[i].prompt, specs[i].max_tokens, specs[i].temperature,
                                SeedFor(specs[i], i)));
    ASSERT_TRUE(engine->Submit(alone.back()).ok());
    alone_text.push_back(Collect(*alone.back()));
  }
  // All at once over 3 slots: sequences join and leave mid-flight and get moved between ids.
  // An unseeded request rides along: it may make a batch unpadded whenever it runs alone, but
  // never while a reproducible one is active.
  auto random = MakeRequest("Once upon a time", 60, 1.0f, std::nullopt);
  ASSERT_TRUE(engine->Submit(random).ok());
  for (size_t i = 0; i < specs.size(); ++i) {
    together.push_back(MakeRequest(specs[i].prompt, specs[i].max_tokens, specs[i].temperature,
                                   SeedFor(specs[i], i)));
    ASSERT_TRUE(engine->Submit(together.back()).ok());
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_EQ(Collect(*together[i]), alone_text[i]) << "request " << i;
    ExpectSameLogits(LogitsOf(*alone[i]), LogitsOf(*together[i]), i);
    EXPECT_EQ(LogitsOf(*together[i]).size(), static_cast<size_t>(specs[i].max_tokens));
  }
  Collect(*random);
}

TEST_F(GenerationEngineTest, OnlyReproducibleRequestsArePadded) {
  auto engine = MakeEngine(/*parallel=*/4);
  ASSERT_TRUE(engine);
  // Unseeded sampling, alone: one row per step.
  auto random = MakeRequest("Once upon a time", 8, 0.8f, std::nullopt);
  ASSERT_TRUE(engine->Submit(random).ok());
  Collect(*random);
  GenerationEngine::Stats stats = engine->stats();
  EXPECT_EQ(stats.decode_steps, 7);  // the first token comes from the prompt's decode
  EXPECT_EQ(stats.padding_rows, 0);
  // Greedy without a seed, alone: one row per step too.
  auto greedy = MakeRequest("Once upon a time", 8, 0.0f, std::nullopt);
  ASSERT_TRUE(engine->Submit(greedy).ok());
  Collect(*greedy);
  GenerationEngine::Stats unseeded = engine->stats();
  EXPECT_EQ(unseeded.decode_steps - stats.decode_steps, 7);
  EXPECT_EQ(unseeded.padding_rows, 0);
  stats = unseeded;
  // Seeded, sampled or greedy, alone: padded to 4 rows, like a batch of 4.
  for (auto request : {MakeRequest("Once upon a time", 8, 0.8f, 1u),
                       MakeRequest("Once upon a time", 8, 0.0f, 2u)}) {
    ASSERT_TRUE(engine->Submit(request).ok());
    Collect(*request);
    GenerationEngine::Stats after = engine->stats();
    EXPECT_EQ(after.decode_steps - stats.decode_steps, 7);
    EXPECT_EQ(after.padding_rows - stats.padding_rows, 7 * 3);
    stats = after;
  }
}

TEST_F(GenerationEngineTest, TwoThreadsGiveTheSameLogitsAsOne) {
  auto one = MakeEngine(/*parallel=*/2, /*threads=*/1);
  auto two = MakeEngine(/*parallel=*/2, /*threads=*/2);
  ASSERT_TRUE(one && two);
  // Short: two threads on a busy shared CPU are slow (ggml's barriers spin).
  auto a = MakeRequest("Once upon a time", 4, 0.8f, 5);
  auto b = MakeRequest("Once upon a time", 4, 0.8f, 5);
  ASSERT_TRUE(one->Submit(a).ok());
  ASSERT_TRUE(two->Submit(b).ok());
  EXPECT_EQ(Collect(*a), Collect(*b));
  ExpectSameLogits(LogitsOf(*a), LogitsOf(*b), 0);
}

TEST_F(GenerationEngineTest, ShutdownFailsQueuedAndActiveRequests) {
  // A long context, so the first request is still generating when the engine goes away.
  auto engine = MakeEngine(/*parallel=*/1, /*threads=*/1, /*ctx=*/8192);
  ASSERT_TRUE(engine);
  auto active = MakeRequest("Once upon a time", 0, 0.0f, 0);
  auto queued = MakeRequest("Once upon a time", 0, 0.0f, 0);
  ASSERT_TRUE(engine->Submit(active).ok());
  ASSERT_TRUE(engine->Submit(queued).ok());
  // Wait until the first one is generating.
  std::vector<std::string> pieces;
  while (pieces.empty() && !active->Wait(&pieces, Clock::now() + std::chrono::seconds(30))) {
  }
  engine.reset();
  active->WaitFinished();
  queued->WaitFinished();
  EXPECT_EQ(active->outcome().status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(queued->outcome().status.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace modelrt::llama
