// The prompt cache: PromptCache's bookkeeping, and GenerationEngine's prefix reuse checked on
// the logits themselves: a prompt whose start was restored from earlier KV (an ended request's,
// or a generating one's) must give bit for bit the logits of the same prompt decoded whole.
#include "providers/llama/prompt_cache.h"

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "providers/llama/generation_engine.h"

namespace modelrt::llama {
namespace {

std::vector<uint8_t> Bytes(size_t n) { return std::vector<uint8_t>(n, 7); }

TEST(PromptCacheTest, CommonPrefixCountsLeadingEqualTokens) {
  EXPECT_EQ(CommonPrefix(std::vector<llama_token>{1, 2, 3}, std::vector<llama_token>{1, 2, 4}), 2u);
  EXPECT_EQ(CommonPrefix(std::vector<llama_token>{1, 2}, std::vector<llama_token>{1, 2, 4}), 2u);
  EXPECT_EQ(CommonPrefix(std::vector<llama_token>{}, std::vector<llama_token>{1}), 0u);
  EXPECT_EQ(CommonPrefix(std::vector<llama_token>{9}, std::vector<llama_token>{1}), 0u);
}

TEST(PromptCacheTest, FindsTheLongestSharedPrefix) {
  PromptCache cache(1000);
  cache.Put({1, 2, 3, 4}, Bytes(10));
  cache.Put({1, 2, 9}, Bytes(10));
  cache.Put({5, 6}, Bytes(10));
  PromptCache::Match hit = cache.Find(std::vector<llama_token>{1, 2, 3, 7});
  ASSERT_NE(hit.entry, nullptr);
  EXPECT_EQ(hit.common, 3u);
  EXPECT_EQ(hit.entry->tokens, (std::vector<llama_token>{1, 2, 3, 4}));
  EXPECT_EQ(cache.Find(std::vector<llama_token>{8}).entry, nullptr);
}

TEST(PromptCacheTest, ANewerEntrySupersedesItsPrefixes) {
  PromptCache cache(1000);
  cache.Put({1, 2}, Bytes(10));
  cache.Put({1, 2, 3}, Bytes(20));  // a chat grown by a turn
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), 20);
  EXPECT_TRUE(cache.Covers(std::vector<llama_token>{1, 2}));
  EXPECT_TRUE(cache.Covers(std::vector<llama_token>{1, 2, 3}));
  EXPECT_FALSE(cache.Covers(std::vector<llama_token>{1, 2, 3, 4}));
}

TEST(PromptCacheTest, EvictsTheLeastRecentlyUsedToFit) {
  PromptCache cache(30);
  cache.Put({1}, Bytes(10));
  cache.Put({2}, Bytes(10));
  cache.Put({3}, Bytes(10));
  cache.Find(std::vector<llama_token>{1});  // now the most recent
  cache.Put({4}, Bytes(10));                // {2} goes
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.bytes(), 30);
  EXPECT_FALSE(cache.Covers(std::vector<llama_token>{2}));
  EXPECT_TRUE(cache.Covers(std::vector<llama_token>{1}));
  cache.Put({5}, Bytes(31));  // larger than the whole cache: not stored, nothing lost
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Covers(std::vector<llama_token>{5}));
}

constexpr char kModelPath[] = MODELRT_SOURCE_DIR "/models/stories260K.gguf";

// About 120 tokens: a system prompt several requests share.
const char kShared[] =
    "Once upon a time, in a small village by the sea, there lived a little girl named Lily. "
    "She loved to play in the sand and collect shells. Every morning she ran to the beach with "
    "her dog Max, and they looked for the prettiest shells they could find. One day, Lily found "
    "a big shiny shell that was different from all the others. She picked it up and";

class PromptCacheEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = LoadLlamaModel(kModelPath, LlamaModelOptions{}, CallContext{});
    ASSERT_TRUE(model.ok()) << model.error().ToString();
    model_ = std::move(*model);
  }

  std::unique_ptr<GenerationEngine> MakeEngine(int64_t cache_bytes, int parallel = 3) {
    GenerationEngine::Options options;
    options.parallel = parallel;
    options.ctx = 512;
    options.batch = 32;  // several chunks per prompt, split differently with and without reuse
    options.prompt_cache_bytes = cache_bytes;
    options.observe_logits = [this](const GenerationRequest& r, const float* logits, int n) {
      MutexLock lock(mu_);
      logits_[&r].emplace_back(logits, logits + n);
    };
    auto engine = GenerationEngine::Create(model_.get(), options, 1);
    EXPECT_TRUE(engine.ok()) << engine.error().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  std::vector<llama_token> Tokens(const std::string& text) const {
    return Tokenize(llama_model_get_vocab(model_.get()), text, true, false);
  }

  // Greedy with a seed: reproducible, so its logits must not depend on the cache.
  std::shared_ptr<GenerationRequest> MakeRequest(std::vector<llama_token> prompt, int max_tokens) {
    GenerationInput input;
    input.prompt = std::move(prompt);
    input.max_tokens = max_tokens;
    input.sampling.temperature = 0.0f;
    input.sampling.seed = 1;
    input.ignore_eos = true;
    return std::make_shared<GenerationRequest>(std::move(input));
  }

  struct Run {
    std::string text;
    GenerationOutcome outcome;
    std::vector<std::vector<float>> logits;
  };
  Run Collect(GenerationRequest& request) {
    Run run;
    std::vector<std::string> pieces;
    bool done = false;
    while (!done) {
      done = request.Wait(&pieces, Clock::now() + std::chrono::seconds(60));
      for (auto& p : pieces) run.text += p;
    }
    run.outcome = request.outcome();
    EXPECT_TRUE(run.outcome.status.ok()) << run.outcome.status.ToString();
    MutexLock lock(mu_);
    // Taken out: a later request may be allocated at the same address.
    run.logits = std::move(logits_[&request]);
    logits_.erase(&request);
    return run;
  }
  Run Generate(GenerationEngine& engine, std::vector<llama_token> prompt, int max_tokens) {
    auto request = MakeRequest(std::move(prompt), max_tokens);
    EXPECT_TRUE(engine.Submit(request).ok());
    return Collect(*request);
  }

  static void ExpectSameLogits(const Run& a, const Run& b, const std::string& what) {
    ASSERT_EQ(a.logits.size(), b.logits.size()) << what;
    for (size_t step = 0; step < a.logits.size(); ++step) {
      ASSERT_EQ(0, std::memcmp(a.logits[step].data(), b.logits[step].data(),
                               a.logits[step].size() * sizeof(float)))
          << what << ": logits differ at step " << step;
    }
    EXPECT_EQ(a.text, b.text) << what;
  }

  LlamaModelPtr model_;
  Mutex mu_;
  std::map<const GenerationRequest*, std::vector<std::vector<float>>> logits_ GUARDED_BY(mu_);
};

TEST_F(PromptCacheEngineTest, ASharedPrefixIsReusedWithTheSameLogits) {
  auto cold = MakeEngine(0);
  auto warm = MakeEngine(64 << 20);
  ASSERT_TRUE(cold && warm);
  const std::vector<llama_token> shared = Tokens(kShared);
  ASSERT_GT(shared.size(), 80u);
  const std::vector<std::string> endings = {" ran home to show her mom.", " looked inside.",
                                            " heard the sea", " gave it to Max."};
  for (size_t i = 0; i < endings.size(); ++i) {
    const std::vector<llama_token> prompt = Tokens(std::string(kShared) + endings[i]);
    const size_t common = CommonPrefix(prompt, shared);
    ASSERT_GT(common, 60u);
    Run whole = Generate(*cold, prompt, 12);
    Run reused = Generate(*warm, prompt, 12);
    EXPECT_EQ(whole.outcome.cached_tokens, 0);
    // The first request finds nothing; each later one finds at least the shared part.
    if (i == 0) {
      EXPECT_EQ(reused.outcome.cached_tokens, 0);
    } else {
      EXPECT_GE(reused.outcome.cached_tokens, static_cast<int64_t>(common) - 1) << i;
      EXPECT_LE(reused.outcome.cached_tokens, static_cast<int64_t>(prompt.size()) - 4) << i;
    }
    ExpectSameLogits(whole, reused, "ending " + std::to_string(i));
  }
  GenerationEngine::Stats stats = warm->stats();
  EXPECT_GT(stats.cached_tokens, 3 * 60);
  EXPECT_GT(stats.prompt_tokens, stats.cached_tokens);
  EXPECT_GE(stats.cache_entries, 1);
  EXPECT_GT(stats.cache_bytes, 0);
  EXPECT_EQ(cold->stats().cached_tokens, 0);
  EXPECT_EQ(cold->stats().cache_entries, 0);
}

TEST_F(PromptCacheEngineTest, AGrowingChatReusesItsWholeHistory) {
  auto cold = MakeEngine(0);
  auto warm = MakeEngine(64 << 20);
  ASSERT_TRUE(cold && warm);
  std::vector<llama_token> history = Tokens(kShared);
  size_t last_prompt = 0;
  for (int turn = 0; turn < 3; ++turn) {
    Run whole = Generate(*cold, history, 10);
    Run reused = Generate(*warm, history, 10);
    ExpectSameLogits(whole, reused, "turn " + std::to_string(turn));
    // The last turn's prompt was cached with the part of its reply that was decoded (whether
    // the reply's text tokenizes back to the same tokens is the tokenizer's business).
    EXPECT_GE(reused.outcome.cached_tokens, static_cast<int64_t>(last_prompt)) << "turn " << turn;
    last_prompt = history.size();
    // The reply, then a new user turn, become the next prompt.
    const std::vector<llama_token> reply =
        Tokenize(llama_model_get_vocab(model_.get()), whole.text, false, false);
    history.insert(history.end(), reply.begin(), reply.end());
    const std::vector<llama_token> more =
        Tokenize(llama_model_get_vocab(model_.get()), " Then the dog barked.", false, false);
    history.insert(history.end(), more.begin(), more.end());
  }
}

TEST_F(PromptCacheEngineTest, AGeneratingSequenceSharesItsPromptWithANewOne) {
  auto cold = MakeEngine(0);
  auto warm = MakeEngine(64 << 20);
  ASSERT_TRUE(cold && warm);
  const std::vector<llama_token> prompt = Tokens(kShared);
  Run whole = Generate(*cold, prompt, 16);
  // Both queued before the worker looks: admitted in one iteration, the second copies the KV of
  // the first, which is generating by then (the n > 1 case: samples share the prompt).
  auto first = MakeRequest(prompt, 16);
  auto second = MakeRequest(prompt, 16);
  ASSERT_TRUE(warm->Submit(first).ok());
  ASSERT_TRUE(warm->Submit(second).ok());
  Run a = Collect(*first);
  Run b = Collect(*second);
  ExpectSameLogits(whole, a, "first");
  ExpectSameLogits(whole, b, "second");
  // One of the two decoded the prompt, the other reused all but its last 4 tokens (which of the
  // two depends on whether the worker woke between the submits).
  EXPECT_EQ(a.outcome.cached_tokens + b.outcome.cached_tokens,
            static_cast<int64_t>(prompt.size()) - 4);
}

TEST_F(PromptCacheEngineTest, ShortPromptsAndAnOffCacheReuseNothing) {
  auto off = MakeEngine(0);
  auto warm = MakeEngine(64 << 20);
  ASSERT_TRUE(off && warm);
  const std::vector<llama_token> prompt = Tokens(kShared);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Generate(*off, prompt, 4).outcome.cached_tokens, 0);
  const std::vector<llama_token> shorter = Tokens("Once upon a time");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Generate(*warm, shorter, 4).outcome.cached_tokens, 0);
  EXPECT_EQ(warm->stats().cache_entries, 0);  // too short to be worth keeping
}

TEST_F(PromptCacheEngineTest, ATinyCacheKeepsOnlyWhatFits) {
  auto engine = MakeEngine(1);  // one byte: every image is larger
  ASSERT_TRUE(engine);
  const std::vector<llama_token> prompt = Tokens(kShared);
  Generate(*engine, prompt, 4);
  EXPECT_EQ(engine->stats().cache_entries, 0);
  EXPECT_EQ(Generate(*engine, prompt, 4).outcome.cached_tokens, 0);
}

}  // namespace
}  // namespace modelrt::llama
