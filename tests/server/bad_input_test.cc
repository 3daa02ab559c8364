// Bad input never crashes or hangs the server: every field of every endpoint gets values of
// every wrong type, and bodies get pathological shapes. Each answer must be a well-formed
// response (an OpenAI error for 4xx), and the server must still be healthy afterwards.
#include <gtest/gtest.h>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

struct Endpoint {
  std::string path;
  Json valid;  // a request that succeeds
};

std::vector<Endpoint> Endpoints() {
  Json messages = Json::array({{{"role", "user"}, {"content", "hi"}}});
  return {
      {"/v1/embeddings", {{"model", "embed"}, {"input", "hello"}, {"encoding_format", "float"},
                          {"dimensions", 8}}},
      {"/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", {"a", "b"}},
                      {"top_n", 1}, {"return_documents", true}}},
      {"/v2/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", {"a", "b"}},
                      {"top_n", 1}, {"max_tokens_per_doc", 64}}},
      {"/rerank", {{"model", "rerank"}, {"query", "q"}, {"texts", {"a", "b"}},
                   {"raw_scores", false}, {"return_text", true}}},
      {"/v1/chat/completions",
       {{"model", "chat"}, {"messages", messages}, {"max_tokens", 2}, {"temperature", 0.5},
        {"top_p", 0.9}, {"seed", 3}, {"stop", {"\n"}}, {"stream", false},
        {"stream_options", {{"include_usage", true}}}, {"max_completion_tokens", 2}}},
      {"/v1/completions",
       {{"model", "chat"}, {"prompt", "Once"}, {"max_tokens", 2}, {"temperature", 0},
        {"top_k", 5}, {"min_p", 0.1}, {"repeat_penalty", 1.1}, {"stream", false}}},
  };
}

void ExpectWellFormed(const HttpResult& r, const std::string& what) {
  ASSERT_NE(r.status, 0) << what << ": no response (" << r.error << ")";
  EXPECT_LT(r.status, 500) << what << ": " << r.body;
  if (r.status >= 400) {
    Json body = r.json();
    ASSERT_TRUE(body.is_object() && body.contains("error")) << what << ": " << r.body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << what;
  }
}

TEST(BadInputTest, WrongTypesForEveryFieldNeverBreakTheServer) {
  TestServer server;
  const int port = server.port();
  const std::vector<Json> wrong = {nullptr, 0, -1, 1e308, -1e308, "", "x",
                                   Json::array(), Json::array({nullptr}), Json::object(),
                                   true, Json::array({Json::object()}),
                                   Json::array({Json::array({"x"})})};
  int requests = 0;
  for (const Endpoint& endpoint : Endpoints()) {
    HttpResult ok = PostJson(port, endpoint.path, endpoint.valid);
    ASSERT_EQ(ok.status, 200) << endpoint.path << ": " << ok.body;
    for (const auto& [key, value] : endpoint.valid.items()) {
      for (const Json& bad : wrong) {
        Json body = endpoint.valid;
        body[key] = bad;
        ExpectWellFormed(PostJson(port, endpoint.path, body), endpoint.path + " " + key + "=" + bad.dump());
        ++requests;
      }
      Json without = endpoint.valid;
      without.erase(key);
      ExpectWellFormed(PostJson(port, endpoint.path, without), endpoint.path + " without " + key);
    }
    for (const std::string& raw : {std::string("null"), std::string("42"), std::string("\"s\""),
                                   std::string("{\"model\":"), std::string("\xff\xfe"),
                                   std::string("{\"model\":\"\xc3\x28\"}")}) {
      ExpectWellFormed(HttpCall(port, "POST", endpoint.path, raw), endpoint.path + " raw " + raw);
    }
  }
  EXPECT_GT(requests, 300);
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 200);
}

TEST(BadInputTest, DeeplyNestedAndHugeValuesAreRefusedCleanly) {
  TestServer server;
  const int port = server.port();
  // 100k nested arrays in 200 KB: within the body limit, must not overflow any stack.
  std::string nested = "{\"model\":\"embed\",\"input\":" + std::string(100000, '[') +
                       std::string(100000, ']') + "}";
  ExpectWellFormed(HttpCall(port, "POST", "/v1/embeddings", nested), "nested arrays");
  std::string objects;
  for (int i = 0; i < 40000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(40000, '}');
  ExpectWellFormed(HttpCall(port, "POST", "/v1/chat/completions", objects), "nested objects");
  ExpectWellFormed(PostJson(port, "/v1/embeddings", {{"model", std::string(100000, 'm')},
                                                     {"input", "x"}}),
                   "huge model name");
  ExpectWellFormed(HttpCall(port, "GET", "/v1/models/" + std::string(4000, 'x')), "long id");
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 200);
}

}  // namespace
}  // namespace modelrt::testing
