// Tests of the test-model writer and the modelrt-testmodel tool: determinism, models that
// llama.cpp loads with the asked shapes, clean failures, and agreement with llama.cpp's own
// llama-embedding tool on the generated models.
#include "providers/llama/test_model_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/provider.h"
#include "providers/llama/llama_common.h"
#include "support/llama_test_models.h"
#include "support/llama_tools.h"
#include "support/run_command.h"

namespace modelrt {
namespace {

using llama::TestModelKind;
using llama::TestModelSpec;
using llama::WriteTestModel;
using ::testing::HasSubstr;
using testing::HaveLlamaTool;
using testing::RunCommand;
using testing::RunLlamaEmbedding;
using testing::TestModel;
using testing::TestTempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempPath(const std::string& name) { return TestTempDir() + "/" + name; }

TEST(TestModelWriterTest, SameSeedSameBytesOtherSeedOtherBytes) {
  for (TestModelKind kind : {TestModelKind::kBertEmbed, TestModelKind::kBertRerank, TestModelKind::kLlama}) {
    const std::string name(llama::ToString(kind));
    TestModelSpec spec{.kind = kind, .path = TempPath("det-a-" + name + ".gguf"), .seed = 9};
    ASSERT_TRUE(WriteTestModel(spec).ok());
    spec.path = TempPath("det-b-" + name + ".gguf");
    ASSERT_TRUE(WriteTestModel(spec).ok());
    spec.path = TempPath("det-c-" + name + ".gguf");
    spec.seed = 10;
    ASSERT_TRUE(WriteTestModel(spec).ok());
    const std::string a = ReadAll(TempPath("det-a-" + name + ".gguf"));
    const std::string b = ReadAll(TempPath("det-b-" + name + ".gguf"));
    const std::string c = ReadAll(TempPath("det-c-" + name + ".gguf"));
    EXPECT_GT(a.size(), 1'000'000u) << name;
    EXPECT_TRUE(a == b) << name;
    EXPECT_EQ(a.size(), c.size()) << name;
    EXPECT_FALSE(a == c) << name;
    // No temporary file is left behind.
    for (const auto& entry : std::filesystem::directory_iterator(TestTempDir()))
      EXPECT_THAT(entry.path().string(), ::testing::Not(HasSubstr(".tmp."))) << name;
  }
}

std::string Meta(const llama_model* model, const char* key) {
  char buf[256];
  int n = llama_model_meta_val_str(model, key, buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf);
}

TEST(TestModelWriterTest, ModelsLoadInLlamaCppWithTheirShapes) {
  struct Case {
    TestModelKind kind;
    int vocab;
    const char* arch;
    const char* pooling;
  };
  for (const Case& c : {Case{TestModelKind::kBertEmbed, 30522, "bert", "2"},
                        Case{TestModelKind::kBertRerank, 30522, "bert", "4"},
                        Case{TestModelKind::kLlama, 32000, "llama", ""}}) {
    auto model = llama::LoadLlamaModel(TestModel(c.kind), {}, CallContext{});
    ASSERT_TRUE(model.ok()) << model.error().ToString();
    const llama_model* m = model->get();
    EXPECT_EQ(llama_model_n_embd(m), 64);
    EXPECT_EQ(llama_model_n_layer(m), 2);
    EXPECT_EQ(llama_model_n_head(m), 4);
    EXPECT_EQ(llama_model_n_ctx_train(m), 512);
    EXPECT_EQ(llama_vocab_n_tokens(llama_model_get_vocab(m)), c.vocab);
    EXPECT_EQ(Meta(m, "general.architecture"), c.arch);
    EXPECT_EQ(Meta(m, (std::string(c.arch) + ".pooling_type").c_str()), c.pooling);
    if (c.kind == TestModelKind::kBertRerank) EXPECT_EQ(llama_model_n_cls_out(m), 1u);
  }
  // Other sizes.
  TestModelSpec spec{.kind = TestModelKind::kBertEmbed, .path = TempPath("small.gguf"),
                     .embd = 32, .layers = 1, .heads = 2, .ff = 48, .ctx = 128, .pooling = 1};
  ASSERT_TRUE(WriteTestModel(spec).ok());
  auto small = llama::LoadLlamaModel(spec.path, {}, CallContext{});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(llama_model_n_embd(small->get()), 32);
  EXPECT_EQ(llama_model_n_layer(small->get()), 1);
  EXPECT_EQ(llama_model_n_ctx_train(small->get()), 128);
  EXPECT_EQ(Meta(small->get(), "bert.pooling_type"), "1");
}

TEST(TestModelWriterTest, BadSpecsFailCleanly) {
  TestModelSpec spec{.kind = TestModelKind::kBertEmbed, .path = TempPath("bad.gguf"), .heads = 3};
  Status s = WriteTestModel(spec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("multiple of heads"));
  spec.heads = 4;
  spec.pooling = 4;  // rank pooling without a classifier head
  EXPECT_EQ(WriteTestModel(spec).code(), StatusCode::kInvalidArgument);
  spec.pooling = -1;
  spec.layers = 0;
  EXPECT_EQ(WriteTestModel(spec).code(), StatusCode::kInvalidArgument);
  spec.layers = 2;
  spec.path = "";
  EXPECT_EQ(WriteTestModel(spec).code(), StatusCode::kInvalidArgument);
  spec.path = TempPath("no/such/dir/model.gguf");
  EXPECT_EQ(WriteTestModel(spec).code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(TempPath("bad.gguf")));
}

const std::string kTool = std::string(MODELRT_BIN_DIR) + "/modelrt-testmodel";

TEST(TestModelToolTest, WritesTheSameModelAsTheLibrary) {
  const std::string out = TempPath("tool-rerank.gguf");
  auto r = RunCommand(kTool + " --kind rerank --out " + out + " --seed 5 --embd 32 --heads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  TestModelSpec spec{.kind = TestModelKind::kBertRerank, .path = TempPath("lib-rerank.gguf"),
                     .seed = 5, .embd = 32, .heads = 2};
  ASSERT_TRUE(WriteTestModel(spec).ok());
  EXPECT_TRUE(ReadAll(out) == ReadAll(spec.path));

  r = RunCommand(kTool + " --kind embed --out " + TempPath("tool-mean.gguf") + " --pooling mean");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = llama::LoadLlamaModel(TempPath("tool-mean.gguf"), {}, CallContext{});
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(Meta(model->get(), "bert.pooling_type"), "1");
}

TEST(TestModelToolTest, BadArgumentsPrintOneLineAndExit1) {
  for (const std::string& args : {"--kind nope --out " + TempPath("x.gguf"), std::string("--kind embed"),
                                 "--kind embed --out " + TempPath("x.gguf") + " --heads 3",
                                 "--kind embed --out " + TempPath("x.gguf") + " --pooling max",
                                 "--kind embed --out " + TempPath("x.gguf") + " --embd abc",
                                 "--kind embed --out " + TempPath("none/x.gguf")}) {
    auto r = RunCommand(kTool + " " + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_THAT(r.err, ::testing::StartsWith("modelrt-testmodel: ")) << args;
  }
  EXPECT_FALSE(std::filesystem::exists(TempPath("x.gguf")));
}

// ---- agreement with llama.cpp's llama-embedding ------------------------------------------

// Runs llama-embedding and returns its vectors (one per prompt line).
std::vector<std::vector<float>> LlamaEmbedding(const std::string& model, const std::string& prompt,
                                               const std::string& extra) {
  const std::string text = RunLlamaEmbedding("-m " + model + " -c 512 --embd-output-format json " +
                                             extra + " -p '" + prompt + "'");
  std::vector<std::vector<float>> out;
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(json.is_discarded()) << text;
  if (json.is_discarded()) return out;
  for (const auto& item : json["data"]) out.push_back(item["embedding"].get<std::vector<float>>());
  return out;
}

std::vector<float> OurEmbedding(const std::string& model_path, Json options, const std::string& text) {
  auto provider =
      CreateProvider({.id = "local", .type = "llama", .options = MakeOptions({{"threads", 1}})});
  EXPECT_TRUE(provider.ok());
  ModelSpec spec{.alias = "cmp",
                 .task = Task::kEmbed,
                 .model = model_path,
                 .options = MakeOptions(std::move(options))};
  auto model = (*provider)->Load(spec, CallContext{});
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  if (!model.ok()) return {};
  auto embedder = std::dynamic_pointer_cast<EmbeddingModel>(*model);
  auto result = embedder->Embed({.inputs = {{.text = text}}}, CallContext{});
  EXPECT_TRUE(result.ok());
  return result.ok() ? result->embeddings[0] : std::vector<float>{};
}

TEST(LlamaEmbeddingToolTest, SameVectorsAsOurEmbedder) {
  if (!HaveLlamaTool("llama-embedding")) GTEST_SKIP() << "no llama-embedding in " << LLAMA_BIN_DIR;
  const std::string path = TestModel(TestModelKind::kBertEmbed);
  const std::string text = "The quick brown fox jumps over the lazy dog";
  struct Case {
    const char* pooling;  // ours; "" = the model's own (CLS)
    const char* flag;     // llama-embedding's
  };
  for (const Case& c : {Case{"", ""}, Case{"mean", "--pooling mean"}, Case{"last", "--pooling last"}}) {
    Json options = Json::object();
    if (*c.pooling) options["pooling"] = c.pooling;
    auto theirs = LlamaEmbedding(path, text, c.flag);
    ASSERT_EQ(theirs.size(), 1u) << c.flag;
    auto ours = OurEmbedding(path, options, text);
    ASSERT_EQ(ours.size(), theirs[0].size()) << c.flag;
    for (size_t i = 0; i < ours.size(); ++i) EXPECT_NEAR(ours[i], theirs[0][i], 1e-4) << c.flag << " dim " << i;
  }
}

}  // namespace
}  // namespace modelrt
