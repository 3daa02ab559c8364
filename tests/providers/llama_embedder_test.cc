// Tests of the llama.cpp embedder on generated BERT / llama models: shapes, normalization,
// batching equivalence (one request, many requests, many threads), token input, limits, queue
// bound, cancellation and pooling options.
#include <atomic>
#include <cmath>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "support/llama_test_models.h"
#include "modelrt/provider.h"
#include "providers/llama/llama_common.h"

namespace modelrt {
namespace {

using llama::TestModelKind;
using ::testing::HasSubstr;
using testing::TestModel;

const std::vector<std::string> kTexts = {
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "embeddings map text to vectors",
    "a",
    "Reranking orders documents by relevance to a query, and this sentence is longer than most.",
    "numbers 1 2 3 and symbols !?",
    "cats and dogs",
    "the last one",
};

Result<std::shared_ptr<EmbeddingModel>> Load(const std::string& path, Json options = Json::object()) {
  MODELRT_ASSIGN_OR_RETURN(
      auto provider,
      CreateProvider({.id = "local", .type = "llama", .options = MakeOptions({{"threads", 1}})}));
  ModelSpec spec;
  spec.alias = "test-embed";
  spec.task = Task::kEmbed;
  spec.model = path;
  spec.options = MakeOptions(std::move(options));
  MODELRT_ASSIGN_OR_RETURN(auto model, provider->Load(spec, CallContext::WithTimeout(std::chrono::seconds(60))));
  auto embedder = std::dynamic_pointer_cast<EmbeddingModel>(model);
  if (!embedder) return InternalError("not an embedding model");
  return embedder;
}

std::shared_ptr<EmbeddingModel> MustLoad(const std::string& path, Json options = Json::object()) {
  auto model = Load(path, std::move(options));
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  return model.ok() ? *model : nullptr;
}

EmbedRequest Texts(const std::vector<std::string>& texts) {
  EmbedRequest request;
  for (const auto& t : texts) request.inputs.push_back({.text = t});
  return request;
}

std::vector<float> EmbedOne(EmbeddingModel& model, const std::string& text) {
  auto result = model.Embed(Texts({text}), CallContext{});
  EXPECT_TRUE(result.ok()) << result.error().ToString();
  if (!result.ok() || result->embeddings.size() != 1) return {};
  return result->embeddings[0];
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double{x} * x;
  return std::sqrt(s);
}

TEST(LlamaEmbedderTest, ShapeNormAndInfo) {
  auto model = MustLoad(TestModel(TestModelKind::kBertEmbed));
  ASSERT_TRUE(model);
  ModelInfo info = model->Info();
  EXPECT_EQ(info.dimensions, 64);
  EXPECT_EQ(info.context_length, 512);
  EXPECT_GT(info.memory_bytes, 8'000'000);  // the F32 weights alone are ~8.8 MB
  EXPECT_THAT(info.description, HasSubstr("pooling cls"));
  EXPECT_TRUE(model->Health().ok());
  EXPECT_TRUE(model->Warmup().ok());

  auto result = model->Embed(Texts({"hello world", "second"}), CallContext{});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  ASSERT_EQ(result->embeddings.size(), 2u);
  EXPECT_EQ(result->embeddings[0].size(), 64u);
  EXPECT_NEAR(Norm(result->embeddings[0]), 1.0, 1e-5);
  EXPECT_NEAR(Norm(result->embeddings[1]), 1.0, 1e-5);
  EXPECT_GT(MaxAbsDiff(result->embeddings[0], result->embeddings[1]), 1e-3);
  EXPECT_GE(result->prompt_tokens, 2 + 2 + 3);  // [CLS] ... [SEP] around each

  EmbedRequest raw = Texts({"hello world"});
  raw.normalize = false;
  auto unnormalized = model->Embed(raw, CallContext{});
  ASSERT_TRUE(unnormalized.ok());
  const double norm = Norm(unnormalized->embeddings[0]);
  EXPECT_GT(std::fabs(norm - 1.0), 1e-3);
  for (size_t i = 0; i < 64; ++i)
    EXPECT_NEAR(unnormalized->embeddings[0][i] / norm, result->embeddings[0][i], 1e-5);
}

TEST(LlamaEmbedderTest, SameVectorAloneAndInBatch) {
  for (int parallel : {3, 8}) {
    auto model = MustLoad(TestModel(TestModelKind::kBertEmbed), {{"parallel", parallel}});
    ASSERT_TRUE(model);
    std::vector<std::vector<float>> alone;
    for (const auto& t : kTexts) alone.push_back(EmbedOne(*model, t));
    auto batch = model->Embed(Texts(kTexts), CallContext{});
    ASSERT_TRUE(batch.ok()) << batch.error().ToString();
    ASSERT_EQ(batch->embeddings.size(), kTexts.size());
    for (size_t i = 0; i < kTexts.size(); ++i)
      EXPECT_LT(MaxAbsDiff(alone[i], batch->embeddings[i]), 1e-5) << "parallel " << parallel << " text " << i;
  }
}

TEST(LlamaEmbedderTest, SameVectorFromConcurrentThreads) {
  // A long gather window so concurrent requests end up in shared decodes.
  auto model = MustLoad(TestModel(TestModelKind::kBertEmbed),
                        {{"parallel", 8}, {"batch_wait_us", 20000}});
  ASSERT_TRUE(model);
  std::vector<std::vector<float>> alone;
  for (const auto& t : kTexts) alone.push_back(EmbedOne(*model, t));
  std::vector<std::vector<float>> got(kTexts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kTexts.size(); ++i)
    threads.emplace_back([&, i] { got[i] = EmbedOne(*model, kTexts[i]); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < kTexts.size(); ++i)
    EXPECT_LT(MaxAbsDiff(alone[i], got[i]), 1e-5) << "text " << i;
}

TEST(LlamaEmbedderTest, DeterministicAcrossCallsAndLoads) {
  auto a = MustLoad(TestModel(TestModelKind::kBertEmbed));
  auto b = MustLoad(TestModel(TestModelKind::kBertEmbed));
  ASSERT_TRUE(a && b);
  auto first = EmbedOne(*a, "determinism");
  EXPECT_EQ(first, EmbedOne(*a, "determinism"));
  EXPECT_EQ(first, EmbedOne(*b, "determinism"));
  // Another seed is another model.
  auto c = MustLoad(TestModel(TestModelKind::kBertEmbed, -1, 43));
  ASSERT_TRUE(c);
  EXPECT_GT(MaxAbsDiff(first, EmbedOne(*c, "determinism")), 1e-3);
}

std::vector<int32_t> TokenizeWithModel(const std::string& path, const std::string& text) {
  auto model = llama::LoadLlamaModel(path, {}, CallContext{});
  EXPECT_TRUE(model.ok());
  if (!model.ok()) return {};
  return llama::Tokenize(llama_model_get_vocab(model->get()), text, true, true);
}

TEST(LlamaEmbedderTest, TokenInputEqualsTextInput) {
  const std::string path = TestModel(TestModelKind::kBertEmbed);
  auto model = MustLoad(path);
  ASSERT_TRUE(model);
  const std::string text = "token input equals text input";
  std::vector<int32_t> tokens = TokenizeWithModel(path, text);
  ASSERT_GT(tokens.size(), 3u);
  EmbedRequest request;
  request.inputs.push_back({.tokens = tokens});
  auto by_tokens = model->Embed(request, CallContext{});
  ASSERT_TRUE(by_tokens.ok()) << by_tokens.error().ToString();
  EXPECT_EQ(by_tokens->prompt_tokens, static_cast<int64_t>(tokens.size()));
  EXPECT_LT(MaxAbsDiff(by_tokens->embeddings[0], EmbedOne(*model, text)), 1e-6);

  EmbedRequest bad;
  bad.inputs.push_back({.tokens = {101, 999999, 102}});
  auto rejected = model->Embed(bad, CallContext{});
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.error().message(), HasSubstr("999999"));
  bad.inputs[0].tokens = {-1};
  EXPECT_EQ(model->Embed(bad, CallContext{}).error().code(), StatusCode::kInvalidArgument);
}

std::string Words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " word" : "word");
  return s;
}

TEST(LlamaEmbedderTest, OverLongInputFailsOrIsTruncated) {
  const std::string path = TestModel(TestModelKind::kBertEmbed);
  auto model = MustLoad(path, {{"ctx", 32}});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->Info().context_length, 32);
  const std::string long_text = Words(40);  // 42 tokens with [CLS] and [SEP]
  auto rejected = model->Embed(Texts({"short", long_text}), CallContext{});
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.error().message(), HasSubstr("input 1 has 42 tokens, more than the context of 32"));

  EmbedRequest request = Texts({long_text});
  request.truncate = true;
  auto truncated = model->Embed(request, CallContext{});
  ASSERT_TRUE(truncated.ok()) << truncated.error().ToString();
  EXPECT_EQ(truncated->prompt_tokens, 32);
  // Truncation keeps the first 31 tokens and the closing [SEP].
  std::vector<int32_t> tokens = TokenizeWithModel(path, long_text);
  ASSERT_EQ(tokens.size(), 42u);
  std::vector<int32_t> cut(tokens.begin(), tokens.begin() + 31);
  cut.push_back(tokens.back());
  EmbedRequest by_tokens;
  by_tokens.inputs.push_back({.tokens = cut});
  auto expected = model->Embed(by_tokens, CallContext{});
  ASSERT_TRUE(expected.ok());
  EXPECT_LT(MaxAbsDiff(expected->embeddings[0], truncated->embeddings[0]), 1e-6);

  // The option sets the default.
  auto truncating = MustLoad(path, {{"ctx", 32}, {"truncate", true}});
  ASSERT_TRUE(truncating);
  EXPECT_TRUE(truncating->Embed(Texts({long_text}), CallContext{}).ok());
}

TEST(LlamaEmbedderTest, EmptyInputsAreRejected) {
  auto model = MustLoad(TestModel(TestModelKind::kBertEmbed));
  ASSERT_TRUE(model);
  auto empty_text = model->Embed(Texts({"fine", ""}), CallContext{});
  ASSERT_FALSE(empty_text.ok());
  EXPECT_EQ(empty_text.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(empty_text.error().message(), HasSubstr("input 1 is empty"));
  EXPECT_EQ(model->Embed(EmbedRequest{}, CallContext{}).error().code(), StatusCode::kInvalidArgument);
}

TEST(LlamaEmbedderTest, FullQueueIsResourceExhausted) {
  auto model = MustLoad(TestModel(TestModelKind::kBertEmbed),
                        {{"max_queue", 1}, {"parallel", 1}, {"batch_wait_us", 0}});
  ASSERT_TRUE(model);
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10 && exhausted.load() < 5; ++i) {
        auto r = model->Embed(Texts({kTexts[0], kTexts[1], kTexts[2], kTexts[4]}), CallContext{});
        if (r.ok()) ++ok;
        else if (r.error().code() == StatusCode::kResourceExhausted) ++exhausted;
        else ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(exhausted.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(model->Health().ok());
}

TEST(LlamaEmbedderTest, CancelledAndExpiredCallsFail) {
  auto model = MustLoad(TestModel(TestModelKind::kBertEmbed), {{"parallel", 1}, {"batch_wait_us", 0}});
  ASSERT_TRUE(model);
  CallContext cancelled;
  cancelled.Cancel();
  EXPECT_EQ(model->Embed(Texts({"x"}), cancelled).error().code(), StatusCode::kCancelled);
  CallContext expired;
  expired.deadline = Clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(model->Embed(Texts({"x"}), expired).error().code(), StatusCode::kDeadlineExceeded);

  // Cancelled while running: 1000 inputs take 1000 decodes, the cancel lands early.
  std::vector<std::string> many(1000, "a sentence to embed");
  CallContext ctx;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ctx.Cancel();
  });
  auto result = model->Embed(Texts(many), ctx);
  canceller.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kCancelled);
  // The engine is still usable.
  EXPECT_EQ(EmbedOne(*model, "after").size(), 64u);
}

TEST(LlamaEmbedderTest, PoolingOptionsChangeTheVector) {
  const std::string path = TestModel(TestModelKind::kBertEmbed);
  std::map<std::string, std::vector<float>> by_pooling;
  for (const char* pooling : {"mean", "cls", "last"}) {
    auto model = MustLoad(path, {{"pooling", pooling}});
    ASSERT_TRUE(model);
    EXPECT_THAT(model->Info().description, HasSubstr(std::string("pooling ") + pooling));
    by_pooling[pooling] = EmbedOne(*model, "pooling changes the vector");
    ASSERT_EQ(by_pooling[pooling].size(), 64u);
  }
  EXPECT_GT(MaxAbsDiff(by_pooling["mean"], by_pooling["cls"]), 1e-3);
  EXPECT_GT(MaxAbsDiff(by_pooling["mean"], by_pooling["last"]), 1e-3);
  EXPECT_GT(MaxAbsDiff(by_pooling["cls"], by_pooling["last"]), 1e-3);
  // The model's own pooling is CLS.
  auto own = MustLoad(path);
  ASSERT_TRUE(own);
  EXPECT_LT(MaxAbsDiff(EmbedOne(*own, "pooling changes the vector"), by_pooling["cls"]), 1e-6);
}

TEST(LlamaEmbedderTest, CausalModelWithMeanPoolingBatchesLikeAlone) {
  const std::string path = TestModel(TestModelKind::kLlama);
  auto none = Load(path);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(none.error().message(), HasSubstr("no pooling"));

  for (const char* pooling : {"mean", "cls", "last"}) {
    auto model = MustLoad(path, {{"pooling", pooling}, {"parallel", 4}});
    ASSERT_TRUE(model);
    std::vector<std::vector<float>> alone;
    for (const auto& t : kTexts) alone.push_back(EmbedOne(*model, t));
    auto batch = model->Embed(Texts(kTexts), CallContext{});
    ASSERT_TRUE(batch.ok()) << batch.error().ToString();
    for (size_t i = 0; i < kTexts.size(); ++i)
      EXPECT_LT(MaxAbsDiff(alone[i], batch->embeddings[i]), 1e-5) << pooling << " text " << i;
  }
}

TEST(LlamaEmbedderTest, RerankerIsNotAnEmbedder) {
  auto model = Load(TestModel(TestModelKind::kBertRerank));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(model.error().message(), HasSubstr("rank pooling"));
}

}  // namespace
}  // namespace modelrt
