// The request semantics the library owns (EmbedRequest::dimensions, RerankRequest::top_n and
// ::return_documents): the pure functions, and the handles applying them on the real llama
// provider — bad values fail before the model runs (the fault-injecting wrapper counts calls).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "modelrt/lifecycle.h"
#include "runtime/embed_dimensions.h"
#include "runtime/rerank_ranking.h"
#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

double Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

TEST(EmbedDimensionsTest, TruncatesAndRenormalizes) {
  std::vector<float> v = {3, 4, 12};
  internal::TruncateAndNormalize(v, 2);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> zero = {0, 0, 0};
  internal::TruncateAndNormalize(zero, 2);
  EXPECT_EQ(zero, (std::vector<float>{0, 0}));
}

TEST(EmbedDimensionsTest, ChecksBoundsAndHonoursNormalizeOff) {
  EmbedRequest request;
  EXPECT_TRUE(internal::CheckDimensions(request, 64, "embed").ok());  // unset: nothing to check
  for (int bad : {0, -3}) {
    request.dimensions = bad;
    Status status = internal::CheckDimensions(request, std::nullopt, "embed");
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("'dimensions'"), std::string::npos) << status.message();
  }
  request.dimensions = 65;
  EXPECT_TRUE(internal::CheckDimensions(request, std::nullopt, "embed").ok());  // size unknown
  Status over = internal::CheckDimensions(request, 64, "embed");
  EXPECT_EQ(over.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.message().find("has 64 dimensions"), std::string::npos) << over.message();
  request.dimensions = 64;
  EXPECT_TRUE(internal::CheckDimensions(request, 64, "embed").ok());

  EmbedResult result;
  result.embeddings = {{3, 4, 12}};
  request.dimensions = 2;
  request.normalize = false;  // truncation only
  internal::ApplyDimensions(request, result);
  EXPECT_EQ(result.embeddings[0], (std::vector<float>{3, 4}));
}

TEST(RerankRankingTest, OrdersStablyCutsAndCopiesTextOnRequest) {
  RerankRequest request{.query = "q", .documents = {"a", "b", "c", "d"}};
  RerankResult result;
  result.scores = {0.5f, 2.0f, 0.5f, 1.0f};
  ASSERT_TRUE(internal::RankDocuments(request, result).ok());
  std::vector<size_t> order;
  for (const RankedDocument& r : result.ranked) order.push_back(r.index);
  EXPECT_EQ(order, (std::vector<size_t>{1, 3, 0, 2}));  // the tie keeps document order
  EXPECT_FLOAT_EQ(result.ranked[0].score, 2.0f);
  EXPECT_TRUE(result.ranked[0].document.empty());  // text only when asked

  request.top_n = 2;
  request.return_documents = true;
  ASSERT_TRUE(internal::RankDocuments(request, result).ok());
  ASSERT_EQ(result.ranked.size(), 2u);
  EXPECT_EQ(result.ranked[0].document, "b");
  EXPECT_EQ(result.ranked[1].document, "d");

  request.top_n = 10;  // more than there are: every document
  ASSERT_TRUE(internal::RankDocuments(request, result).ok());
  EXPECT_EQ(result.ranked.size(), 4u);

  request.top_n = 0;
  EXPECT_EQ(internal::CheckRanking(request).code(), StatusCode::kInvalidArgument);
  request.top_n = std::nullopt;
  result.scores.pop_back();  // a model that lost a score must not rank the wrong documents
  EXPECT_EQ(internal::RankDocuments(request, result).code(), StatusCode::kInternal);
}

TEST(RequestSemanticsTest, EmbeddingHandleAppliesDimensions) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  EmbedRequest request;
  request.inputs = {{.text = "hello world"}};
  auto full = handle->Embed(request);
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  request.dimensions = 16;
  auto cut = handle->Embed(request);
  ASSERT_TRUE(cut.ok()) << cut.error().ToString();
  ASSERT_EQ(cut->embeddings[0].size(), 16u);
  EXPECT_NEAR(Norm(cut->embeddings[0]), 1.0, 1e-4);
  // The same direction as the first 16 values of the full vector.
  const std::vector<float>& f = full->embeddings[0];
  double scale = Norm(std::vector<float>(f.begin(), f.begin() + 16));
  for (size_t i = 0; i < 16; ++i) EXPECT_NEAR(cut->embeddings[0][i], f[i] / scale, 1e-4);
}

TEST(RequestSemanticsTest, BadDimensionsFailBeforeTheModelRuns) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {EmbedSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  EmbedRequest request;
  request.inputs = {{.text = "hello"}};

  // Below 1: refused before anything loads.
  request.dimensions = 0;
  const int loads = provider->load_calls();
  EXPECT_EQ(handle->Embed(request).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(provider->load_calls(), loads);

  // Above the model's 64: refused on the loaded engine's info, before its Embed.
  ASSERT_TRUE(runtime->lifecycle().Prefetch({"embed"}).ok());
  const int calls = provider->model_calls();
  request.dimensions = 65;
  auto over = handle->Embed(request);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.error().message().find("has 64 dimensions"), std::string::npos)
      << over.error().ToString();
  EXPECT_EQ(provider->model_calls(), calls);
}

TEST(RequestSemanticsTest, RerankerHandleRanks) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {RerankSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Reranker("rerank");
  ASSERT_TRUE(handle.ok());
  RerankRequest request{.query = "where is the cat",
                        .documents = {"the cat sat on the mat", "stocks fell", "a dog"}};
  auto all = handle->Rerank(request);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->ranked.size(), 3u);
  for (size_t i = 1; i < all->ranked.size(); ++i) {
    EXPECT_GE(all->ranked[i - 1].score, all->ranked[i].score);
  }
  for (const RankedDocument& r : all->ranked) EXPECT_EQ(r.score, all->scores[r.index]);

  request.top_n = 1;
  request.return_documents = true;
  auto best = handle->Rerank(request);
  ASSERT_TRUE(best.ok()) << best.error().ToString();
  ASSERT_EQ(best->ranked.size(), 1u);
  EXPECT_EQ(best->ranked[0].index, all->ranked[0].index);
  EXPECT_EQ(best->ranked[0].document, request.documents[best->ranked[0].index]);

  const int calls = provider->model_calls();
  request.top_n = 0;
  EXPECT_EQ(handle->Rerank(request).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(provider->model_calls(), calls);  // refused before the model ran
}

}  // namespace
}  // namespace modelrt::runtime_test
