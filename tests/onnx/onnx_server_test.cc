// `onnx` aliases through everything the server offers, unchanged: /v1/embeddings, the three
// rerank shapes, the pool, hot reload under traffic and the admin API. The onnx aliases use the
// same weights as the llama aliases "embed" and "rerank" of the server tests' catalog, so over
// HTTP too the two engines must agree.
#include <atomic>
#include <cmath>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin/admin_test_util.h"
#include "onnx_test_util.h"

namespace modelrt::testing {
namespace {

using llama::TestModelKind;

Config OnnxConfig() {
  Config config = AdminConfig();
  config.providers.push_back({.id = "onnx", .type = "onnx", .options = MakeOptions({{"threads", 1}})});
  auto spec = [](std::string alias, Task task, std::string dir) {
    ModelSpec s;
    s.alias = std::move(alias);
    s.task = task;
    s.provider = "onnx";
    s.model = std::move(dir);
    s.options = MakeOptions({{"max_length", 256}, {"parallel", 4}});
    s.origin = "<test>: " + s.alias;
    return s;
  };
  // The weights of TestModel(kBertEmbed) and TestModel(kBertRerank): seed 42, E64, CLS / rank.
  config.models.push_back(spec("embed-onnx", Task::kEmbed,
                               OnnxTestModel({.kind = TestModelKind::kBertEmbed, .pooling = 2}).dir));
  config.models.push_back(spec("rerank-onnx", Task::kRerank,
                               OnnxTestModel({.kind = TestModelKind::kBertRerank}).dir));
  return config;
}

class OnnxServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new AdminServer({.config = OnnxConfig()}); }
  static void TearDownTestSuite() { delete server_; }
  static int port() { return server_->port(); }
  static AdminServer* server_;
};
AdminServer* OnnxServerTest::server_ = nullptr;

const std::vector<std::string> kDocs = {"a cat sat on the mat", "stock prices fell sharply",
                                        "the dog chased the cat", "rain is expected tomorrow"};

TEST_F(OnnxServerTest, EmbeddingsAgreeWithTheLlamaAliasOverHttp) {
  const Json request = {{"input", Json::array({"hello world", "embeddings over http", "a"})}};
  Json onnx_request = request, llama_request = request;
  onnx_request["model"] = "embed-onnx";
  llama_request["model"] = "embed";
  HttpResult a = PostJson(port(), "/v1/embeddings", onnx_request);
  HttpResult b = PostJson(port(), "/v1/embeddings", llama_request);
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  const Json da = a.json()["data"], db = b.json()["data"];
  ASSERT_EQ(da.size(), 3u);
  EXPECT_EQ(a.json()["model"], "embed-onnx");
  EXPECT_EQ(a.json()["usage"]["prompt_tokens"], b.json()["usage"]["prompt_tokens"]);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(da[i]["embedding"].size(), 64u);
    for (size_t j = 0; j < 64; ++j)
      EXPECT_NEAR(da[i]["embedding"][j].get<double>(), db[i]["embedding"][j].get<double>(), 1e-4);
  }
}

TEST_F(OnnxServerTest, TheThreeRerankShapesServeOnnxAliases) {
  HttpResult v1 = PostJson(port(), "/v1/rerank", {{"model", "rerank-onnx"}, {"query", "where is the cat"}, {"documents", kDocs}});
  ASSERT_EQ(v1.status, 200) << v1.body;
  HttpResult llama = PostJson(port(), "/v1/rerank", {{"model", "rerank"}, {"query", "where is the cat"}, {"documents", kDocs}});
  ASSERT_EQ(llama.status, 200) << llama.body;
  const Json r1 = v1.json()["results"], rl = llama.json()["results"];
  ASSERT_EQ(r1.size(), kDocs.size());
  for (size_t i = 0; i < kDocs.size(); ++i) {
    EXPECT_EQ(r1[i]["index"], rl[i]["index"]) << "the same order as llama.cpp";
    EXPECT_NEAR(r1[i]["relevance_score"].get<double>(), rl[i]["relevance_score"].get<double>(), 1e-4);
  }
  HttpResult v2 = PostJson(port(), "/v2/rerank", {{"model", "rerank-onnx"}, {"query", "where is the cat"}, {"documents", kDocs}, {"top_n", 2}});
  ASSERT_EQ(v2.status, 200) << v2.body;
  ASSERT_EQ(v2.json()["results"].size(), 2u);
  EXPECT_EQ(v2.json()["results"][0]["index"], r1[0]["index"]);
  HttpResult tei = PostJson(port(), "/rerank", {{"model", "rerank-onnx"}, {"query", "where is the cat"}, {"texts", kDocs}});
  ASSERT_EQ(tei.status, 200) << tei.body;
  ASSERT_TRUE(tei.json().is_array());
  EXPECT_EQ(tei.json()[0]["index"], r1[0]["index"]);
}

TEST_F(OnnxServerTest, BadInputIsA400InTheApisShape) {
  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += "word ";
  HttpResult r = PostJson(port(), "/v1/embeddings", {{"model", "embed-onnx"}, {"input", long_text}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(r.json()["error"]["message"].is_string()) << r.body;
  EXPECT_THAT(r.json()["error"]["message"].get<std::string>(), ::testing::HasSubstr("input 0"));
  HttpResult empty = PostJson(port(), "/v1/rerank", {{"model", "rerank-onnx"}, {"query", ""}, {"documents", kDocs}});
  EXPECT_EQ(empty.status, 400) << empty.body;
}

TEST_F(OnnxServerTest, PoolAndAdminSeeOnnxEngines) {
  ASSERT_EQ(AdminCall(port(), "POST", "/admin/models/embed-onnx/load").status, 200);
  Json pool = AdminCall(port(), "GET", "/admin/pool").json();
  bool found = false;
  for (const Json& engine : pool["engines"]) {
    if (engine["alias"] != "embed-onnx") continue;
    found = true;
    EXPECT_GT(engine["memory_bytes"].get<int64_t>(), 0);
  }
  EXPECT_TRUE(found) << pool.dump();
  Json models = AdminCall(port(), "GET", "/admin/models").json();
  Json entry = FindModel(models, "embed-onnx");
  ASSERT_FALSE(entry.is_null()) << models.dump();
  EXPECT_EQ(entry["provider"], "onnx");
}

// Reloads while clients keep calling: not one request fails, and the generation moves.
TEST_F(OnnxServerTest, HotReloadUnderTrafficLosesNothing) {
  ASSERT_EQ(Embed(port(), "embed-onnx").status, 200);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        HttpResult r = Embed(port(), "embed-onnx", "traffic during a reload");
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  int generation = 0;
  for (int i = 0; i < 3; ++i) {
    HttpResult reloaded = AdminCall(port(), "POST", "/admin/models/embed-onnx/reload");
    ASSERT_EQ(reloaded.status, 200) << reloaded.body;
    EXPECT_EQ(reloaded.json()["outcome"], "succeeded");
    generation = reloaded.json()["new_generation"];
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(Embed(port(), "embed-onnx").Header("X-Model-Generation"), std::to_string(generation));
}

}  // namespace
}  // namespace modelrt::testing
