// GreedyToken against the llama.cpp chain it stands in for ([logit bias ->] greedy), on random
// logits with ties and banned maxima, plus the IsPlainGreedy cases.
#include "providers/llama/sampler_chain.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace modelrt::llama {
namespace {

constexpr char kModelPath[] = MODELRT_SOURCE_DIR "/models/stories260K.gguf";

// The token the real chain picks from `logits`.
llama_token ChainToken(llama_sampler* chain, const std::vector<float>& logits) {
  std::vector<llama_token_data> cur(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    cur[i] = {static_cast<llama_token>(i), logits[i], 0.0f};
  llama_token_data_array array = {cur.data(), cur.size(), -1, false};
  llama_sampler_apply(chain, &array);
  return cur[array.selected].id;
}

TEST(SamplerChainTest, GreedyTokenPicksWhatTheChainPicks) {
  EnsureLlamaBackend();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  LlamaModelPtr model(llama_model_load_from_file(kModelPath, params));
  ASSERT_TRUE(model);
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  SamplingParams greedy;
  greedy.temperature = 0;
  const std::vector<llama_token> banned = {0, 2, 7, n_vocab - 1};
  std::vector<uint8_t> mask(n_vocab, 0);
  for (llama_token t : banned) mask[t] = 1;
  LlamaSamplerPtr plain = MakeSamplerChain(greedy, vocab, {});
  LlamaSamplerPtr biased = MakeSamplerChain(greedy, vocab, banned);

  std::mt19937 rng(42);
  // Few distinct values, so ties are common; every few rounds a banned token holds the maximum.
  std::uniform_int_distribution<int> level(0, 7);
  for (int round = 0; round < 200; ++round) {
    std::vector<float> logits(n_vocab);
    for (auto& l : logits) l = static_cast<float>(level(rng)) * 0.5f;
    if (round % 3 == 0) logits[banned[round % banned.size()]] = 100.0f;
    if (round % 50 == 0) logits.assign(n_vocab, -INFINITY);  // nothing to pick: first token
    EXPECT_EQ(GreedyToken(logits.data(), n_vocab, {}), ChainToken(plain.get(), logits))
        << "round " << round;
    EXPECT_EQ(GreedyToken(logits.data(), n_vocab, mask), ChainToken(biased.get(), logits))
        << "round " << round << " (banned)";
  }
}

TEST(SamplerChainTest, PlainGreedyMeansGreedyWithoutPenalties) {
  SamplingParams p;
  p.temperature = 0;
  EXPECT_TRUE(IsPlainGreedy(p));
  p.repeat_penalty = 1.1f;
  EXPECT_FALSE(IsPlainGreedy(p));
  p.repeat_last_n = 0;  // penalties over no tokens are off
  EXPECT_TRUE(IsPlainGreedy(p));
  p.temperature = 0.5f;
  EXPECT_FALSE(IsPlainGreedy(p));
}

}  // namespace
}  // namespace modelrt::llama
