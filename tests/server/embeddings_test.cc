// POST /v1/embeddings over real HTTP on a generated BERT model: every input shape, float and
// base64, dimensions, the model listing, and the input limits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

std::vector<float> Floats(const Json& array) { return array.get<std::vector<float>>(); }

std::vector<float> DecodeBase64Floats(const std::string& text) {
  std::string bytes;
  int val = 0, bits = -8;
  for (char c : text) {
    const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* p = std::strchr(table, c);
    if (!p || c == '\0') break;
    val = (val << 6) | static_cast<int>(p - table);
    bits += 6;
    if (bits >= 0) {
      bytes.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

class EmbeddingsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() { delete server_; }
  static int port() { return server_->port(); }
  static TestServer* server_;
};
TestServer* EmbeddingsTest::server_ = nullptr;

TEST_F(EmbeddingsTest, ListsModelsAndProfiles) {
  HttpResult r = HttpCall(port(), "GET", "/v1/models");
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = r.json();
  EXPECT_EQ(body["object"], "list");
  std::map<std::string, Json> by_id;
  for (const Json& m : body["data"]) by_id[m["id"]] = m;
  ASSERT_EQ(by_id.size(), 5u) << r.body;
  EXPECT_EQ(by_id["embed"]["task"], "embed");
  EXPECT_EQ(by_id["rerank"]["task"], "rerank");
  EXPECT_EQ(by_id["chat"]["object"], "model");
  EXPECT_EQ(by_id["storyteller"]["parent"], "chat");
  EXPECT_EQ(by_id["storyteller"]["task"], "generate");

  r = HttpCall(port(), "GET", "/v1/models/storyteller");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["id"], "storyteller");
}

TEST_F(EmbeddingsTest, StringArrayAndTokenInputs) {
  HttpResult one = PostJson(port(), "/v1/embeddings", {{"model", "embed"}, {"input", "hello world"}});
  ASSERT_EQ(one.status, 200) << one.body;
  Json body = one.json();
  EXPECT_EQ(body["object"], "list");
  EXPECT_EQ(body["model"], "embed");
  ASSERT_EQ(body["data"].size(), 1u);
  EXPECT_EQ(body["data"][0]["object"], "embedding");
  EXPECT_EQ(body["data"][0]["index"], 0);
  std::vector<float> hello = Floats(body["data"][0]["embedding"]);
  EXPECT_EQ(hello.size(), 64u);
  EXPECT_NEAR(Norm(hello), 1.0, 1e-3);  // normalized by default
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(body["usage"]["total_tokens"], body["usage"]["prompt_tokens"]);
  // Which engine generation served the call: the first load is generation 1.
  EXPECT_EQ(one.Header("X-Model-Generation"), "1");

  HttpResult many = PostJson(port(), "/v1/embeddings",
                             {{"model", "embed"}, {"input", {"hello world", "something else"}}});
  ASSERT_EQ(many.status, 200) << many.body;
  Json mb = many.json();
  ASSERT_EQ(mb["data"].size(), 2u);
  EXPECT_EQ(mb["data"][1]["index"], 1);
  std::vector<float> first = Floats(mb["data"][0]["embedding"]);
  std::vector<float> second = Floats(mb["data"][1]["embedding"]);
  for (size_t i = 0; i < hello.size(); ++i) EXPECT_NEAR(first[i], hello[i], 1e-4);
  EXPECT_NE(first, second);

  // Token ids: one array, and an array of arrays.
  HttpResult tokens = PostJson(port(), "/v1/embeddings",
                               {{"model", "embed"}, {"input", {101, 7592, 2088, 102}}});
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(tokens.json()["data"].size(), 1u);
  EXPECT_EQ(tokens.json()["usage"]["prompt_tokens"], 4);
  HttpResult token_lists = PostJson(
      port(), "/v1/embeddings",
      {{"model", "embed"}, {"input", Json::array({Json::array({101, 102}), Json::array({101, 7592, 102})})}});
  ASSERT_EQ(token_lists.status, 200) << token_lists.body;
  EXPECT_EQ(token_lists.json()["data"].size(), 2u);
}

TEST_F(EmbeddingsTest, Base64AndDimensions) {
  Json request = {{"model", "embed"}, {"input", "hello world"}};
  std::vector<float> full = Floats(PostJson(port(), "/v1/embeddings", request).json()["data"][0]["embedding"]);
  request["encoding_format"] = "base64";
  HttpResult b64 = PostJson(port(), "/v1/embeddings", request);
  ASSERT_EQ(b64.status, 200) << b64.body;
  std::vector<float> decoded = DecodeBase64Floats(b64.json()["data"][0]["embedding"]);
  ASSERT_EQ(decoded.size(), full.size());
  for (size_t i = 0; i < full.size(); ++i) EXPECT_FLOAT_EQ(decoded[i], full[i]);

  request["encoding_format"] = "float";
  request["dimensions"] = 16;
  HttpResult cut = PostJson(port(), "/v1/embeddings", request);
  ASSERT_EQ(cut.status, 200) << cut.body;
  std::vector<float> small = Floats(cut.json()["data"][0]["embedding"]);
  ASSERT_EQ(small.size(), 16u);
  EXPECT_NEAR(Norm(small), 1.0, 1e-4);
  // The same direction as the first 16 values of the full vector.
  double scale = Norm(std::vector<float>(full.begin(), full.begin() + 16));
  for (size_t i = 0; i < 16; ++i) EXPECT_NEAR(small[i], full[i] / scale, 1e-4);
}

TEST_F(EmbeddingsTest, BadInputsAre4xx) {
  auto post = [&](Json body) { return PostJson(port(), "/v1/embeddings", body); };
  struct Case {
    Json body;
    int status;
    std::string needle;  // part of the message
  };
  std::vector<Case> cases = {
      {{{"model", "embed"}, {"input", ""}}, 400, "'input' must not be empty"},
      {{{"model", "embed"}, {"input", Json::array()}}, 400, "empty array"},
      {{{"model", "embed"}, {"input", 5}}, 400, "'input' must be"},
      {{{"model", "embed"}}, 400, "'input'"},
      {{{"model", "embed"}, {"input", {"a", 1}}}, 400, "input[1]"},
      {{{"model", "embed"}, {"input", Json(std::vector<std::string>(17, "x"))}}, 400,
       "server.max_batch_inputs"},
      {{{"model", "embed"}, {"input", "x"}, {"encoding_format", "int8"}}, 400, "encoding_format"},
      {{{"model", "embed"}, {"input", "x"}, {"dimensions", 0}}, 400, "dimensions"},
      {{{"model", "embed"}, {"input", "x"}, {"dimensions", 65}}, 400, "dimensions"},
      {{{"model", "embed"}, {"input", "x"}, {"dimensions", "8"}}, 400, "dimensions"},
      {{{"model", "embed"}, {"input", {-5}}}, 400, "token"},
      {{{"model", "embed"}, {"input", {999999999}}}, 400, ""},  // beyond the vocabulary
      {{{"model", "embed"}, {"input", Repeat("hello ", 400)}}, 400, "context"},
      {{{"model", "missing"}, {"input", "x"}}, 404, "missing"},
      {{{"model", "rerank"}, {"input", "x"}}, 400, "rerank"},
  };
  for (const Case& c : cases) {
    HttpResult r = post(c.body);
    SCOPED_TRACE(c.body.dump().substr(0, 200));
    EXPECT_EQ(r.status, c.status) << r.body;
    Json body = r.json();
    ASSERT_TRUE(body.contains("error")) << r.body;
    EXPECT_NE(body["error"]["message"].get<std::string>().find(c.needle), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(post({{"model", "embed"}, {"input", "still fine"}}).status, 200);
}

}  // namespace
}  // namespace modelrt::testing
