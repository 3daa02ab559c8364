// The onnx provider's embedder and reranker on generated models: padding never changes a
// result, concurrent requests share Runs, length groups, token inputs, truncation, options and
// the errors that name what is wrong.
#include <condition_variable>
#include <mutex>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "onnx_test_util.h"
#include "providers/onnx/onnx_embedder.h"

namespace modelrt::testing {
namespace {

using llama::TestModelKind;
using ::testing::HasSubstr;

const OnnxTestFiles& Embed() {
  static const OnnxTestFiles files = OnnxTestModel({.kind = TestModelKind::kBertEmbed, .pooling = 1});
  return files;
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = a.size() == b.size() ? 0 : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

std::string Words(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += "word" + std::to_string(i % 50) + " ";
  return text;
}

TEST(OnnxEmbedder, ReportsItsShape) {
  auto model = MustLoadEmbedder("onnx", Embed().dir);
  ASSERT_TRUE(model);
  const ModelInfo info = model->Info();
  EXPECT_EQ(info.dimensions, 64);
  EXPECT_EQ(info.context_length, 512);  // tokenizer_config's model_max_length
  EXPECT_GT(info.memory_bytes, 0);
  EXPECT_THAT(info.description, HasSubstr("last_hidden_state, mean pooling"));
  EXPECT_TRUE(model->Health().ok());
  EXPECT_TRUE(model->Warmup().ok());
}

// A short text alone, and next to texts ten times longer (so it runs padded, or in another
// length group): the same vector.
TEST(OnnxEmbedder, PaddingDoesNotChangeResults) {
  auto model = MustLoadEmbedder("onnx", Embed().dir, {{"batch_wait_us", 0}});
  ASSERT_TRUE(model);
  auto alone = model->Embed(TextsRequest({"a short text"}), CallContext{});
  ASSERT_TRUE(alone.ok());
  auto mixed = model->Embed(TextsRequest({Words(40), "a short text", Words(12), Words(45)}), CallContext{});
  ASSERT_TRUE(mixed.ok()) << mixed.error().ToString();
  EXPECT_LE(MaxDiff(alone->embeddings[0], mixed->embeddings[1]), 1e-5);
  double norm = 0;
  for (float x : mixed->embeddings[0]) norm += double{x} * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

// Requests queued together are gathered into one Run (a fresh model's first batch waits the
// whole window for up to `parallel` requests), and each gets its own answer back.
TEST(OnnxEmbedder, ConcurrentRequestsShareRuns) {
  auto loaded = LoadAs<EmbeddingModel>("onnx", Task::kEmbed, Embed().dir, {{"batch_wait_us", 500000}});
  ASSERT_TRUE(loaded.ok());
  auto model = std::dynamic_pointer_cast<onnx::OnnxEmbedder>(*loaded);
  ASSERT_TRUE(model);
  constexpr int kRequests = 8;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::vector<float>> results(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    model->EmbedAsync(TextsRequest({"text number " + std::to_string(i)}), CallContext{},
                      [&, i](Result<EmbedResult> r) {
                        std::lock_guard<std::mutex> lock(mu);
                        if (r.ok()) results[i] = r->embeddings[0];
                        ++done;
                        cv.notify_all();
                      });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == kRequests; });
  }
  EXPECT_EQ(model->encoder().stats().runs, 1);
  EXPECT_EQ(model->encoder().stats().sequences, kRequests);
  auto reference = model->Embed(TextsRequest({"text number 3"}), CallContext{});
  ASSERT_TRUE(reference.ok());
  EXPECT_LE(MaxDiff(results[3], reference->embeddings[0]), 1e-5);
  EXPECT_GT(MaxDiff(results[3], results[4]), 1e-4) << "each request gets its own answer";
}

TEST(OnnxEmbedder, TokenInputsAreUsedAsGiven) {
  auto model = MustLoadEmbedder("onnx", Embed().dir);
  ASSERT_TRUE(model);
  // [CLS] hello world [SEP] in bert-bge's vocabulary: the same as the text.
  EmbedRequest tokens;
  tokens.inputs.push_back({.tokens = {101, 7592, 2088, 102}});
  auto a = model->Embed(tokens, CallContext{});
  auto b = model->Embed(TextsRequest({"hello world"}), CallContext{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LE(MaxDiff(a->embeddings[0], b->embeddings[0]), 1e-6);
  EXPECT_EQ(a->prompt_tokens, 4);

  tokens.inputs[0].tokens = {101, 99999999};
  auto bad = model->Embed(tokens, CallContext{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message(), HasSubstr("out of range"));
}

TEST(OnnxEmbedder, OverLongInputFailsUnlessTruncated) {
  auto model = MustLoadEmbedder("onnx", Embed().dir, {{"max_length", 32}});
  ASSERT_TRUE(model);
  auto refused = model->Embed(TextsRequest({Words(100)}), CallContext{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message(), HasSubstr("input 0"));
  EmbedRequest request = TextsRequest({Words(100)});
  request.truncate = true;
  auto cut = model->Embed(request, CallContext{});
  ASSERT_TRUE(cut.ok()) << cut.error().ToString();
  EXPECT_EQ(cut->prompt_tokens, 32);
}

TEST(OnnxEmbedder, EmptyInputsAreRefused) {
  auto model = MustLoadEmbedder("onnx", Embed().dir);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->Embed(EmbedRequest{}, CallContext{}).error().code(), StatusCode::kInvalidArgument);
  auto empty = model->Embed(TextsRequest({"fine", ""}), CallContext{});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message(), HasSubstr("input 1 is empty"));
}

TEST(OnnxEmbedder, NormalizeFalseKeepsTheRawPooledVector) {
  auto model = MustLoadEmbedder("onnx", Embed().dir, {{"normalize", false}});
  ASSERT_TRUE(model);
  auto r = model->Embed(TextsRequest({"hello world"}), CallContext{});
  ASSERT_TRUE(r.ok());
  double norm = 0;
  for (float x : r->embeddings[0]) norm += double{x} * x;
  EXPECT_GT(std::fabs(norm - 1.0), 1e-3);
}

TEST(OnnxEmbedder, PoolingOptionOverridesThePoolingConfig) {
  auto mean = MustLoadEmbedder("onnx", Embed().dir);
  auto cls = MustLoadEmbedder("onnx", Embed().dir, {{"pooling", "cls"}});
  ASSERT_TRUE(mean && cls);
  EXPECT_THAT(cls->Info().description, HasSubstr("cls pooling"));
  auto a = mean->Embed(TextsRequest({"hello world"}), CallContext{});
  auto b = cls->Embed(TextsRequest({"hello world"}), CallContext{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(MaxDiff(a->embeddings[0], b->embeddings[0]), 1e-3);
}

TEST(OnnxEmbedder, GraphWithoutTokenTypesRuns) {
  const OnnxTestFiles files = OnnxTestModel({.kind = TestModelKind::kBertEmbed, .pooling = 1}, /*token_types=*/false);
  auto without = MustLoadEmbedder("onnx", files.dir);
  auto with = MustLoadEmbedder("onnx", Embed().dir);
  ASSERT_TRUE(without && with);
  auto a = without->Embed(TextsRequest({"hello world"}), CallContext{});
  auto b = with->Embed(TextsRequest({"hello world"}), CallContext{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LE(MaxDiff(a->embeddings[0], b->embeddings[0]), 1e-6);  // type row 0 either way
}

TEST(OnnxEmbedder, CancelledRequestFails) {
  auto model = MustLoadEmbedder("onnx", Embed().dir);
  ASSERT_TRUE(model);
  CallContext ctx;
  ctx.Cancel();
  auto r = model->Embed(TextsRequest({"hello"}), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kCancelled);
}

TEST(OnnxReranker, ScoresPairsAndSigmoidMapsThem) {
  const OnnxTestFiles files = OnnxTestModel({.kind = TestModelKind::kBertRerank});
  auto raw = MustLoadReranker("onnx", files.dir);
  auto sigmoid = MustLoadReranker("onnx", files.dir, {{"sigmoid", true}});
  ASSERT_TRUE(raw && sigmoid);
  RerankRequest request{.query = "cats", .documents = {"a cat sat", "stocks fell", Words(30)}};
  auto a = raw->Rerank(request, CallContext{});
  auto b = sigmoid->Rerank(request, CallContext{});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->scores.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(b->scores[i], 1.0 / (1.0 + std::exp(-a->scores[i])), 1e-6);
    EXPECT_GT(b->scores[i], 0);
    EXPECT_LT(b->scores[i], 1);
  }
  // Alone or in a batch: the same score.
  auto alone = raw->Rerank({.query = "cats", .documents = {"stocks fell"}}, CallContext{});
  ASSERT_TRUE(alone.ok());
  EXPECT_NEAR(alone->scores[0], a->scores[1], 1e-5);
  EXPECT_EQ(raw->Rerank({.query = "", .documents = {"x"}}, CallContext{}).error().code(),
            StatusCode::kInvalidArgument);
}

// ---- Errors that name what is wrong ------------------------------------------------------

std::string CopyModel(const std::string& name) {
  const std::string dir = TestTempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::copy(Embed().dir, dir, std::filesystem::copy_options::recursive);
  return dir;
}

Status LoadError(const std::string& path, Json options = Json::object()) {
  auto model = LoadAs<EmbeddingModel>("onnx", Task::kEmbed, path, std::move(options));
  return model.ok() ? OkStatus() : model.error();
}

TEST(OnnxErrors, MissingTokenizerJson) {
  const std::string dir = CopyModel("no-tokenizer");
  std::filesystem::remove(dir + "/tokenizer.json");
  Status status = LoadError(dir);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("tokenizer.json not found"));
}

TEST(OnnxErrors, MissingGraph) {
  const std::string dir = CopyModel("no-graph");
  std::filesystem::remove(dir + "/model.onnx");
  Status status = LoadError(dir);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("no model.onnx or onnx/model.onnx"));
  EXPECT_EQ(LoadError(TestTempDir() + "/nothing-here").code(), StatusCode::kNotFound);
}

TEST(OnnxErrors, GraphUnderOnnxFolderIsFound) {
  const std::string dir = CopyModel("onnx-subdir");
  std::filesystem::create_directory(dir + "/onnx");
  std::filesystem::rename(dir + "/model.onnx", dir + "/onnx/model.onnx");
  EXPECT_TRUE(LoadError(dir).ok());
}

TEST(OnnxErrors, NotAnOnnxFile) {
  const std::string dir = CopyModel("garbage-graph");
  std::ofstream(dir + "/model.onnx", std::ios::trunc) << "this is not a protobuf";
  Status status = LoadError(dir);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ONNX Runtime cannot load it"));
}

TEST(OnnxErrors, UnsupportedTokenizerComponentIsNamed) {
  const std::string dir = CopyModel("odd-tokenizer");
  Json tok = Json::parse(std::ifstream(dir + "/tokenizer.json"));
  tok["pre_tokenizer"] = {{"type", "UnicodeScriptsFancy"}};
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << tok.dump();
  Status status = LoadError(dir);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("UnicodeScriptsFancy"));
}

TEST(OnnxErrors, CrossEncoderGraphIsNotAnEmbedder) {
  // The reranker's graph has `logits` only: as an embedder it must be refused, naming outputs.
  const OnnxTestFiles rerank = OnnxTestModel({.kind = TestModelKind::kBertRerank});
  Status status = LoadError(rerank.dir);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("outputs: logits"));
  auto as_reranker = LoadAs<RerankerModel>("onnx", Task::kRerank, Embed().dir);
  ASSERT_FALSE(as_reranker.ok());
  EXPECT_THAT(as_reranker.error().message(), HasSubstr("needs a 'logits' output"));
}

TEST(OnnxErrors, LoneOnnxFileNeedsTheTokenizerOption) {
  const std::string graph = Embed().dir + "/model.onnx";
  Status status = LoadError(graph);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("options.tokenizer"));
  EXPECT_TRUE(LoadError(graph, {{"tokenizer", Embed().dir + "/tokenizer.json"}}).ok());
}

TEST(OnnxErrors, OptionsAreChecked) {
  EXPECT_THAT(LoadError(Embed().dir, {{"ctx", 5}}).message(), HasSubstr("not accepted by the onnx provider"));
  EXPECT_THAT(LoadError(Embed().dir, {{"pooling", "max"}}).message(), HasSubstr("must be one of"));
  EXPECT_THAT(LoadError(Embed().dir, {{"max_length", 4096}}).message(), HasSubstr("past the model's 512"));
  EXPECT_THAT(LoadError(Embed().dir, {{"optimization", "turbo"}}).message(), HasSubstr("optimization"));
  auto generator = CreateProvider({.id = "onnx", .type = "onnx"});
  ASSERT_TRUE(generator.ok());
  ModelSpec spec{.alias = "g", .task = Task::kGenerate, .provider = "onnx", .model = Embed().dir};
  EXPECT_THAT((*generator)->Validate(spec).message(), HasSubstr("not supported by the onnx provider"));
}

}  // namespace
}  // namespace modelrt::testing
