// The cross-check: the same random-weight BERT run by ONNX Runtime (the onnx provider, on the
// model.onnx written by tools/onnx_test_model.py) and by llama.cpp (the llama provider, on the
// GGUF the project's writer made with those weights). Two independent engines, tokenizers and
// graph builders must give the same embeddings (cosine >= 0.9999, max abs diff <= 1e-4 on the
// normalized vectors) and the same rerank scores.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "onnx_test_util.h"

namespace modelrt::testing {
namespace {

using llama::TestModelKind;

constexpr double kMinCosine = 0.9999;
constexpr double kMaxAbsDiff = 1e-4;

const std::vector<std::string> kTexts = {
    "hello world",
    "a",
    "The quick brown fox jumps over the lazy dog.",
    "embeddings map text to vectors, and rerankers order documents by relevance",
    "numbers 1 2 3 and symbols !? (brackets) [more] {braces}",
    "Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 accents are stripped by BERT's normalizer",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x96\x87 and \xe4\xb8\xad\xe6\x96\x87 mixed with English",
    "    leading and trailing whitespace   with   runs   ",
    "UPPER CASE and MiXeD cAsE words",
};

// A long text: about 300 tokens, so positions far from 0 are checked too.
std::string LongText() {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "sentence " + std::to_string(i) + " has words. ";
  return text;
}

struct Agreement {
  double min_cosine = 1;
  double max_abs = 0;
};

void Compare(const std::vector<float>& a, const std::vector<float>& b, Agreement* agreement) {
  ASSERT_EQ(a.size(), b.size());
  double dot = 0, na = 0, nb = 0, worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
    worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  }
  agreement->min_cosine = std::min(agreement->min_cosine, dot / std::sqrt(na * nb));
  agreement->max_abs = std::max(agreement->max_abs, worst);
}

void ExpectSameEmbeddings(const llama::TestModelSpec& spec, const EmbedRequest& request) {
  const OnnxTestFiles files = OnnxTestModel(spec);
  auto onnx = MustLoadEmbedder("onnx", files.dir);
  auto llama = MustLoadEmbedder("llama", files.gguf);
  ASSERT_TRUE(onnx && llama);
  auto a = onnx->Embed(request, CallContext{});
  auto b = llama->Embed(request, CallContext{});
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  ASSERT_EQ(a->embeddings.size(), request.inputs.size());
  ASSERT_EQ(b->embeddings.size(), request.inputs.size());
  EXPECT_EQ(a->prompt_tokens, b->prompt_tokens) << "the two tokenizers disagree";
  Agreement agreement;
  for (size_t i = 0; i < request.inputs.size(); ++i) Compare(a->embeddings[i], b->embeddings[i], &agreement);
  EXPECT_GE(agreement.min_cosine, kMinCosine);
  EXPECT_LE(agreement.max_abs, kMaxAbsDiff);
  std::printf("  %zu inputs, E%d L%d: min cosine %.7f, max abs diff %.2e\n", request.inputs.size(),
              spec.embd, spec.layers, agreement.min_cosine, agreement.max_abs);
}

TEST(OnnxCrossCheck, ClsEmbeddingsOfTextsMatchLlamaCpp) {
  std::vector<std::string> texts = kTexts;
  texts.push_back(LongText());
  ExpectSameEmbeddings({.kind = TestModelKind::kBertEmbed, .pooling = 2}, TextsRequest(texts));
}

TEST(OnnxCrossCheck, MeanEmbeddingsOfTextsMatchLlamaCpp) {
  std::vector<std::string> texts = kTexts;
  texts.push_back(LongText());
  ExpectSameEmbeddings({.kind = TestModelKind::kBertEmbed, .pooling = 1}, TextsRequest(texts));
}

// Random token ids of many lengths (1 to 500): every position row and most of the vocabulary,
// with no tokenizer involved, in one request that the ONNX engine cuts into length groups.
TEST(OnnxCrossCheck, TokenInputsOfManyLengthsMatchLlamaCpp) {
  std::mt19937 rng(7);
  EmbedRequest request;
  for (int length : {1, 2, 3, 7, 16, 31, 64, 100, 128, 200, 257, 384, 500}) {
    EmbedInput input;
    std::uniform_int_distribution<int32_t> id(1000, 30000);
    for (int i = 0; i < length; ++i) input.tokens.push_back(id(rng));
    request.inputs.push_back(std::move(input));
  }
  ExpectSameEmbeddings({.kind = TestModelKind::kBertEmbed, .pooling = 1}, request);
}

// bge-small's width (E384, 12 heads, F1536) with 4 layers. llama.cpp's own rounding grows with
// size (its GELU reads an fp16 table, flash attention keeps K and V in fp16: about 2.5e-5 per
// value here, ~5e-4 at 6 layers un-normalized, per tools/onnx_test_model.py --check), still
// inside the bounds at this size.
TEST(OnnxCrossCheck, BgeSmallWidthMatchesLlamaCpp) {
  std::vector<std::string> texts = kTexts;
  texts.push_back(LongText());
  ExpectSameEmbeddings({.kind = TestModelKind::kBertEmbed, .embd = 384, .layers = 4, .heads = 12,
                        .ff = 1536, .pooling = 2},
                       TextsRequest(texts));
}

TEST(OnnxCrossCheck, RerankScoresMatchLlamaCpp) {
  const OnnxTestFiles files = OnnxTestModel({.kind = TestModelKind::kBertRerank});
  auto onnx = MustLoadReranker("onnx", files.dir);
  auto llama = MustLoadReranker("llama", files.gguf);
  ASSERT_TRUE(onnx && llama);
  RerankRequest request{.query = "where did the cat sit?", .documents = kTexts};
  request.documents.push_back(LongText());
  auto a = onnx->Rerank(request, CallContext{});
  auto b = llama->Rerank(request, CallContext{});
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  ASSERT_EQ(a->scores.size(), request.documents.size());
  EXPECT_EQ(a->prompt_tokens, b->prompt_tokens) << "the two tokenizers disagree";
  double worst = 0, spread = 0;
  for (size_t i = 0; i < a->scores.size(); ++i) {
    worst = std::max(worst, std::fabs(double{a->scores[i]} - b->scores[i]));
    spread = std::max(spread, std::fabs(double{a->scores[i]} - a->scores[0]));
  }
  EXPECT_LE(worst, kMaxAbsDiff);
  EXPECT_GT(spread, 1e-2) << "scores that do not differ would check nothing";
  std::printf("  %zu documents: max abs score diff %.2e (scores spread %.3f)\n",
              a->scores.size(), worst, spread);
}

}  // namespace
}  // namespace modelrt::testing
