// Tests of the llama.cpp reranker on generated BERT models: one score per document, the same
// scores alone and batched, stable across runs, agreement with llama-embedding's rank pooling,
// limits, and refusal of models without rank pooling.
#include "providers/llama/llama_reranker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/provider.h"
#include "support/llama_test_models.h"
#include "support/llama_tools.h"

namespace modelrt {
namespace {

using llama::TestModelKind;
using ::testing::HasSubstr;
using testing::TestModel;

const std::string kQuery = "what do cats eat";
const std::vector<std::string> kDocs = {
    "Cats are carnivores and eat meat.",
    "The stock market fell today.",
    "Kittens drink milk",
    "A recipe for bread with flour, water and yeast.",
    "cats",
    "Domestic cats are often fed dry food, wet food, or a mix of both.",
};

Result<std::shared_ptr<RerankerModel>> Load(const std::string& path, Json options = Json::object()) {
  MODELRT_ASSIGN_OR_RETURN(
      auto provider,
      CreateProvider({.id = "local", .type = "llama", .options = MakeOptions({{"threads", 1}})}));
  ModelSpec spec{.alias = "test-rerank",
                 .task = Task::kRerank,
                 .model = path,
                 .options = MakeOptions(std::move(options))};
  MODELRT_ASSIGN_OR_RETURN(auto model, provider->Load(spec, CallContext{}));
  auto reranker = std::dynamic_pointer_cast<RerankerModel>(model);
  if (!reranker) return InternalError("not a reranker");
  return reranker;
}

std::shared_ptr<RerankerModel> MustLoad(Json options = Json::object()) {
  auto model = Load(TestModel(TestModelKind::kBertRerank), std::move(options));
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  return model.ok() ? *model : nullptr;
}

std::vector<float> Scores(RerankerModel& model, const std::vector<std::string>& docs) {
  auto result = model.Rerank({.query = kQuery, .documents = docs}, CallContext{});
  EXPECT_TRUE(result.ok()) << result.error().ToString();
  return result.ok() ? result->scores : std::vector<float>{};
}

TEST(LlamaRerankerTest, OneScorePerDocumentSameAloneAndInBatch) {
  auto model = MustLoad({{"parallel", 4}});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->task(), Task::kRerank);
  EXPECT_TRUE(model->Health().ok());
  EXPECT_TRUE(model->Warmup().ok());
  auto batched = model->Rerank({.query = kQuery, .documents = kDocs}, CallContext{});
  ASSERT_TRUE(batched.ok()) << batched.error().ToString();
  ASSERT_EQ(batched->scores.size(), kDocs.size());
  EXPECT_GT(batched->prompt_tokens, static_cast<int64_t>(kDocs.size()) * 8);
  for (size_t i = 0; i < kDocs.size(); ++i) {
    auto alone = Scores(*model, {kDocs[i]});
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_NEAR(alone[0], batched->scores[i], 1e-5) << "doc " << i;
  }
  // Scores differ between documents (they are meaningless, not constant).
  float lo = batched->scores[0], hi = batched->scores[0];
  for (float s : batched->scores) lo = std::min(lo, s), hi = std::max(hi, s);
  EXPECT_GT(hi - lo, 1e-2);

  // Concurrent callers share decodes and still get their own scores.
  std::vector<std::vector<float>> got(kDocs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kDocs.size(); ++i)
    threads.emplace_back([&, i] { got[i] = Scores(*model, {kDocs[i]}); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < kDocs.size(); ++i) {
    ASSERT_EQ(got[i].size(), 1u);
    EXPECT_NEAR(got[i][0], batched->scores[i], 1e-5) << "doc " << i;
  }
}

TEST(LlamaRerankerTest, StableAcrossRunsAndLoads) {
  auto a = MustLoad();
  auto b = MustLoad();
  ASSERT_TRUE(a && b);
  auto first = Scores(*a, kDocs);
  EXPECT_EQ(first, Scores(*a, kDocs));
  EXPECT_EQ(first, Scores(*b, kDocs));
  // The query matters.
  auto other = a->Rerank({.query = "stock prices", .documents = kDocs}, CallContext{});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(first, other->scores);
}

TEST(LlamaRerankerTest, FormatsPairsAsBertPairs) {
  auto model = MustLoad();
  ASSERT_TRUE(model);
  auto* reranker = dynamic_cast<llama::LlamaReranker*>(model.get());
  ASSERT_NE(reranker, nullptr);
  // BERT vocab: [CLS] query [SEP] document [SEP].
  auto tokens = reranker->FormatPair("cat", "dog");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0], 101);  // [CLS]
  EXPECT_EQ(tokens[2], 102);  // [SEP]
  EXPECT_EQ(tokens[4], 102);
  EXPECT_NE(tokens[1], tokens[3]);
}

TEST(LlamaRerankerTest, SameScoresAsLlamaEmbeddingRankPooling) {
  if (!testing::HaveLlamaTool("llama-embedding")) GTEST_SKIP() << "no llama-embedding in " << LLAMA_BIN_DIR;
  auto model = MustLoad();
  ASSERT_TRUE(model);
  auto ours = Scores(*model, {kDocs[0], kDocs[2]});
  ASSERT_EQ(ours.size(), 2u);
  // llama-embedding splits "query<TAB>doc" lines and inserts the same separators.
  const std::string prompt = kQuery + "\t" + kDocs[0] + "\n" + kQuery + "\t" + kDocs[2];
  const std::string out = testing::RunLlamaEmbedding(
      "-m " + TestModel(TestModelKind::kBertRerank) +
      " -c 512 --embd-normalize -1 --embd-output-format json -p '" + prompt + "'");
  // Only the first value of each row is the score; the rest of the row is not initialized
  // (it may even print as nan, which is not JSON), so read the first numbers by hand.
  std::vector<float> theirs;
  const std::regex first_value(R"re("embedding": \[(-?[0-9.]+))re");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), first_value);
       it != std::sregex_iterator(); ++it)
    theirs.push_back(std::stof((*it)[1].str()));
  ASSERT_EQ(theirs.size(), 2u) << out;
  EXPECT_NEAR(theirs[0], ours[0], 1e-4);
  EXPECT_NEAR(theirs[1], ours[1], 1e-4);
}

TEST(LlamaRerankerTest, LimitsAndBadRequests) {
  auto model = MustLoad({{"ctx", 32}});
  ASSERT_TRUE(model);
  auto empty_query = model->Rerank({.query = "", .documents = {"x"}}, CallContext{});
  EXPECT_EQ(empty_query.error().code(), StatusCode::kInvalidArgument);
  auto no_docs = model->Rerank({.query = "q", .documents = {}}, CallContext{});
  ASSERT_TRUE(no_docs.ok());
  EXPECT_TRUE(no_docs->scores.empty());

  std::string long_doc;
  for (int i = 0; i < 40; ++i) long_doc += " word";
  auto rejected = model->Rerank({.query = "q", .documents = {"short", long_doc}}, CallContext{});
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.error().message(), HasSubstr("document 1 with the query has 44 tokens"));
  auto truncated = model->Rerank({.query = "q", .documents = {long_doc}, .truncate = true}, CallContext{});
  ASSERT_TRUE(truncated.ok()) << truncated.error().ToString();
  EXPECT_EQ(truncated->prompt_tokens, 32);

  CallContext cancelled;
  cancelled.Cancel();
  EXPECT_EQ(model->Rerank({.query = "q", .documents = {"d"}}, cancelled).error().code(),
            StatusCode::kCancelled);
}

TEST(LlamaRerankerTest, ModelWithoutRankPoolingIsRejected) {
  for (TestModelKind kind : {TestModelKind::kBertEmbed, TestModelKind::kLlama}) {
    auto model = Load(TestModel(kind));
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(model.error().message(), HasSubstr("model has no rank pooling"));
  }
  // A reranker file with its pooling overwritten to mean is not a reranker either.
  auto mean = Load(TestModel(TestModelKind::kBertRerank, /*pooling=*/1));
  ASSERT_FALSE(mean.ok());
  EXPECT_THAT(mean.error().message(), HasSubstr("model has no rank pooling"));
}

}  // namespace
}  // namespace modelrt
