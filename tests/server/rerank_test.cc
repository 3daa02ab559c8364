// Rerank over real HTTP on a generated BERT reranker, in its three shapes: /v1/rerank,
// /v2/rerank (Cohere) and /rerank (TEI); ordering, top_n, documents, limits and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

class RerankTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() { delete server_; }
  static int port() { return server_->port(); }
  static TestServer* server_;
};
TestServer* RerankTest::server_ = nullptr;

const std::vector<std::string> kDocs = {"a cat sat on the mat", "stock prices fell sharply",
                                        "the dog chased the cat", "rain is expected tomorrow"};

void ExpectSortedPermutation(const Json& results, const char* score_key, size_t n) {
  ASSERT_EQ(results.size(), n) << results.dump();
  std::set<int> seen;
  double previous = INFINITY;
  for (const Json& r : results) {
    int index = r["index"];
    EXPECT_TRUE(seen.insert(index).second);
    EXPECT_GE(index, 0);
    EXPECT_LT(index, static_cast<int>(kDocs.size()));
    double score = r[score_key];
    EXPECT_LE(score, previous) << "best first";
    previous = score;
  }
}

TEST_F(RerankTest, V1ShapeSortsAndHonoursTopNAndDocuments) {
  Json request = {{"model", "rerank"}, {"query", "where is the cat"}, {"documents", kDocs}};
  HttpResult r = PostJson(port(), "/v1/rerank", request);
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = r.json();
  EXPECT_EQ(body["model"], "rerank");
  EXPECT_TRUE(body["id"].is_string());
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
  ExpectSortedPermutation(body["results"], "relevance_score", kDocs.size());
  EXPECT_FALSE(body["results"][0].contains("document"));
  Json all = body["results"];

  request["top_n"] = 2;
  request["return_documents"] = true;
  // Objects with a `text` field are accepted too (Jina / llama-server style).
  request["documents"] = Json::array();
  for (const auto& d : kDocs) request["documents"].push_back({{"text", d}});
  r = PostJson(port(), "/v1/rerank", request);
  ASSERT_EQ(r.status, 200) << r.body;
  Json top = r.json()["results"];
  ASSERT_EQ(top.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(top[i]["index"], all[i]["index"]);
    EXPECT_NEAR(top[i]["relevance_score"].get<double>(), all[i]["relevance_score"].get<double>(), 1e-4);
    EXPECT_EQ(top[i]["document"]["text"], kDocs[top[i]["index"].get<int>()]);
  }
}

TEST_F(RerankTest, CohereV2Shape) {
  Json request = {{"model", "rerank"}, {"query", "where is the cat"}, {"documents", kDocs},
                  {"top_n", 3}, {"max_tokens_per_doc", 128}};
  HttpResult r = PostJson(port(), "/v2/rerank", request);
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = r.json();
  ExpectSortedPermutation(body["results"], "relevance_score", 3);
  EXPECT_EQ(body["meta"]["api_version"]["version"], "2");
  EXPECT_TRUE(body["id"].is_string());
  // Cohere v2 takes strings only.
  request["documents"] = {{{"text", "x"}}};
  EXPECT_EQ(PostJson(port(), "/v2/rerank", request).status, 400);
}

TEST_F(RerankTest, TeiShape) {
  Json request = {{"query", "where is the cat"}, {"texts", kDocs}, {"return_text", true}};
  HttpResult r = PostJson(port(), "/rerank", request);  // no model: the catalog's reranker
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = r.json();
  ASSERT_TRUE(body.is_array()) << r.body;
  ExpectSortedPermutation(body, "score", kDocs.size());
  for (const Json& item : body) {
    EXPECT_EQ(item["text"], kDocs[item["index"].get<int>()]);
    EXPECT_GT(item["score"].get<double>(), 0.0);  // sigmoid: in (0, 1)
    EXPECT_LT(item["score"].get<double>(), 1.0);
  }
  request["raw_scores"] = true;
  request["model"] = "rerank";
  Json raw = PostJson(port(), "/rerank", request).json();
  Json v1 = PostJson(port(), "/v1/rerank",
                     {{"model", "rerank"}, {"query", "where is the cat"}, {"documents", kDocs}})
                .json();
  ASSERT_EQ(raw.size(), kDocs.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    EXPECT_EQ(raw[i]["index"], v1["results"][i]["index"]);
    double s = raw[i]["score"];
    EXPECT_NEAR(s, v1["results"][i]["relevance_score"].get<double>(), 1e-4);
    EXPECT_NEAR(body[i]["score"].get<double>(), 1.0 / (1.0 + std::exp(-s)), 1e-4);
  }
}

TEST_F(RerankTest, BadInputsAre4xx) {
  struct Case {
    std::string path;
    Json body;
    int status;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"/v1/rerank", {{"model", "rerank"}, {"documents", kDocs}}, 400, "'query'"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", ""}, {"documents", kDocs}}, 400, "'query'"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}}, 400, "'documents'"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", Json::array()}}, 400,
       "empty"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", "doc"}}, 400, "array"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", {1, 2}}}, 400,
       "documents[0]"},
      {"/v1/rerank",
       {{"model", "rerank"}, {"query", "q"}, {"documents", std::vector<std::string>(17, "d")}},
       400, "server.max_rerank_documents"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", kDocs}, {"top_n", 0}},
       400, "top_n"},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", kDocs}, {"top_n", "2"}},
       400, "top_n"},
      {"/v1/rerank", {{"model", "embed"}, {"query", "q"}, {"documents", kDocs}}, 400, "rerank"},
      {"/v1/rerank", {{"model", "nope"}, {"query", "q"}, {"documents", kDocs}}, 404, "nope"},
      {"/v1/rerank", {{"query", "q"}, {"documents", kDocs}}, 400, "'model'"},
      {"/rerank", {{"query", "q"}, {"texts", Json::array()}}, 400, "'texts'"},
      {"/v2/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", kDocs},
                      {"max_tokens_per_doc", -1}}, 400, "max_tokens_per_doc"},
  };
  for (const Case& c : cases) {
    HttpResult r = PostJson(port(), c.path, c.body);
    SCOPED_TRACE(c.path + " " + c.body.dump());
    EXPECT_EQ(r.status, c.status) << r.body;
    ASSERT_TRUE(r.json().contains("error")) << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(c.needle), std::string::npos)
        << r.body;
  }
}

}  // namespace
}  // namespace modelrt::testing
