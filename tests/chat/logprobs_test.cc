// Log-probabilities, logit_bias, OpenAI's penalties and the tokenizer calls of the llama engine,
// checked against llama.cpp driven directly: the same model decoded token by token here, its
// logits turned into log-softmax in double precision.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "llama.h"
#include "providers/llama/llama_common.h"
#include "providers/llama/llama_generator.h"

namespace modelrt::llama {
namespace {

constexpr char kStories[] = MODELRT_SOURCE_DIR "/models/stories260K.gguf";
constexpr char kPrompt[] = "Once upon a time";

std::shared_ptr<GeneratorModel> Stories() {
  ModelSpec spec;
  spec.alias = "stories";
  spec.task = Task::kGenerate;
  spec.model = kStories;
  LlamaModelOptions options;
  options.ctx = 256;
  options.parallel = 2;
  options.threads = 1;
  auto generator = CreateLlamaGenerator(spec, options, CallContext{});
  if (!generator.ok()) ADD_FAILURE() << generator.error().ToString();
  return generator.ok() ? *generator : nullptr;
}

// Greedy decoding with llama.cpp itself: each step's chosen token and its log-softmax row.
struct DirectStep {
  llama_token token;
  std::vector<double> logprobs;
};

std::vector<DirectStep> DecodeDirectly(int steps) {
  llama_model_params mp = llama_model_default_params();
  LlamaModelPtr model(llama_model_load_from_file(kStories, mp));
  EXPECT_TRUE(model);
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 256;
  cp.n_threads = cp.n_threads_batch = 1;
  LlamaContextPtr ctx(llama_init_from_model(model.get(), cp));
  std::vector<llama_token> tokens = Tokenize(vocab, kPrompt, /*add_special=*/true, /*parse_special=*/false);
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  std::vector<DirectStep> out;
  llama_batch batch = llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size()));
  for (int step = 0; step < steps; ++step) {
    EXPECT_EQ(llama_decode(ctx.get(), batch), 0);
    const float* logits = llama_get_logits_ith(ctx.get(), -1);
    double max = logits[0];
    for (int32_t t = 1; t < n_vocab; ++t) max = std::max<double>(max, logits[t]);
    double sum = 0;
    for (int32_t t = 0; t < n_vocab; ++t) sum += std::exp(logits[t] - max);
    DirectStep s;
    s.token = 0;
    for (int32_t t = 0; t < n_vocab; ++t) {
      s.logprobs.push_back(logits[t] - max - std::log(sum));
      if (logits[t] > logits[s.token]) s.token = t;
    }
    out.push_back(s);
    tokens.push_back(s.token);
    batch = llama_batch_get_one(&tokens.back(), 1);
  }
  return out;
}

GenerateRequest Greedy(int max_tokens) {
  GenerateRequest r;
  r.prompt = kPrompt;
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  return r;
}

TEST(LogprobsTest, EqualTheLogSoftmaxOfTheModelsLogits) {
  auto gen = Stories();
  ASSERT_TRUE(gen);
  GenerateRequest r = Greedy(12);
  r.logprobs = true;
  r.top_logprobs = 5;
  auto result = gen->Generate(r, nullptr, CallContext{});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  ASSERT_EQ(result->logprobs.size(), static_cast<size_t>(result->completion_tokens));
  std::vector<DirectStep> direct = DecodeDirectly(static_cast<int>(result->logprobs.size()));
  std::string joined;
  for (size_t i = 0; i < result->logprobs.size(); ++i) {
    const TokenLogprob& lp = result->logprobs[i];
    joined += lp.token;
    EXPECT_NEAR(lp.logprob, direct[i].logprobs[direct[i].token], 1e-3) << "token " << i;
    ASSERT_EQ(lp.top.size(), 5u);
    // Greedy: the chosen token is the most likely one, and the list is best first.
    EXPECT_EQ(lp.top[0].first, lp.token);
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    for (size_t k = 1; k < lp.top.size(); ++k) EXPECT_LE(lp.top[k].second, lp.top[k - 1].second);
    EXPECT_LE(lp.logprob, 0.0f);
  }
  EXPECT_EQ(joined, result->text);
}

TEST(LogprobsTest, OffByDefaultAndTopIsBounded) {
  auto gen = Stories();
  ASSERT_TRUE(gen);
  auto plain = gen->Generate(Greedy(4), nullptr, CallContext{});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->logprobs.empty());
  GenerateRequest r = Greedy(4);
  r.logprobs = true;
  r.top_logprobs = 21;
  auto refused = gen->Generate(r, nullptr, CallContext{});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message(), ::testing::HasSubstr("top_logprobs"));
}

TEST(LogitBiasTest, BanningTheGreedyTokenChangesTheChoiceAndForcingOneRepeatsIt) {
  auto gen = Stories();
  ASSERT_TRUE(gen);
  std::vector<DirectStep> direct = DecodeDirectly(1);
  GenerateRequest banned = Greedy(1);
  banned.logprobs = true;
  banned.sampling.logit_bias = {{direct[0].token, -100.0f}};
  auto result = gen->Generate(banned, nullptr, CallContext{});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  ASSERT_EQ(result->logprobs.size(), 1u);
  // The model's own logprob of the banned token is still the highest; a different one was chosen.
  EXPECT_LT(result->logprobs[0].logprob, direct[0].logprobs[direct[0].token] - 1e-6);

  GenerateRequest forced = Greedy(6);
  std::vector<int32_t> dog = *gen->Tokenize(" dog", /*add_special=*/false);
  const int32_t forced_token = dog.back();
  forced.sampling.logit_bias = {{forced_token, 100.0f}};
  auto repeated = gen->Generate(forced, nullptr, CallContext{});
  ASSERT_TRUE(repeated.ok());
  std::string piece = *gen->Detokenize({forced_token});
  std::string expected;
  for (int i = 0; i < 6; ++i) expected += piece;
  EXPECT_EQ(repeated->text, expected);

  GenerateRequest bad = Greedy(1);
  bad.sampling.logit_bias = {{1 << 30, 1.0f}};
  auto refused = gen->Generate(bad, nullptr, CallContext{});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message(), ::testing::HasSubstr("logit_bias"));
}

// Tokens of a reply, by their text (each logprob entry is one token).
std::vector<std::string> Tokens(GeneratorModel& gen, GenerateRequest r) {
  r.logprobs = true;
  auto result = gen.Generate(r, nullptr, CallContext{});
  EXPECT_TRUE(result.ok());
  std::vector<std::string> out;
  if (result.ok())
    for (const TokenLogprob& lp : result->logprobs) out.push_back(lp.token);
  return out;
}

size_t Repeats(const std::vector<std::string>& tokens) {
  return tokens.size() - std::set<std::string>(tokens.begin(), tokens.end()).size();
}

TEST(PenaltiesTest, FrequencyAndPresencePenaltiesCutRepetition) {
  auto gen = Stories();
  ASSERT_TRUE(gen);
  GenerateRequest base = Greedy(64);
  base.sampling.repeat_last_n = 64;
  std::vector<std::string> plain = Tokens(*gen, base);
  GenerateRequest penalized = base;
  penalized.sampling.frequency_penalty = 1.5f;
  penalized.sampling.presence_penalty = 1.5f;
  std::vector<std::string> fewer = Tokens(*gen, penalized);
  ASSERT_EQ(plain.size(), 64u);
  ASSERT_FALSE(fewer.empty());
  EXPECT_NE(plain, fewer);
  EXPECT_LT(Repeats(fewer) * plain.size(), Repeats(plain) * fewer.size());
}

TEST(TokenizerTest, TokenizeDetokenizeAndRenderPrompt) {
  auto gen = Stories();
  ASSERT_TRUE(gen);
  auto with_bos = gen->Tokenize(kPrompt, /*add_special=*/true);
  auto without = gen->Tokenize(kPrompt, /*add_special=*/false);
  ASSERT_TRUE(with_bos.ok() && without.ok());
  EXPECT_EQ(with_bos->size(), without->size() + 1);
  auto text = gen->Detokenize(*without);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, ::testing::HasSubstr(kPrompt));
  auto bad = gen->Detokenize({-1});
  EXPECT_FALSE(bad.ok());
  GenerateRequest chat;
  chat.messages = {{.role = "user", .content = "hi"}};
  auto prompt = gen->RenderPrompt(chat);
  ASSERT_TRUE(prompt.ok());
  EXPECT_THAT(*prompt, ::testing::HasSubstr("hi"));
}

}  // namespace
}  // namespace modelrt::llama
