// Bearer API keys over real HTTP: 401 in OpenAI's shape without or with a wrong key, /health and
// /ready always open, keys from an environment variable and from a file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

TEST(AuthTest, KeysGuardTheApiButNotHealth) {
  setenv("MODELRT_AUTH_TEST_KEYS", "alpha,beta", 1);
  std::string file = TestTempDir() + "/auth_keys.txt";
  std::ofstream(file) << "gamma\n";
  Config config = TestConfig();
  config.server.api_keys_env = "MODELRT_AUTH_TEST_KEYS";
  config.server.api_keys_file = file;
  TestServer server(config);
  unsetenv("MODELRT_AUTH_TEST_KEYS");
  int port = server.port();

  for (const Headers& headers : std::vector<Headers>{
           {}, {{"Authorization", "Bearer wrong"}}, {{"Authorization", "alpha"}}}) {
    HttpResult r = HttpCall(port, "GET", "/v1/models", "", headers);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_api_key") << r.body;
    EXPECT_EQ(r.json()["error"]["type"], "invalid_request_error");
    EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(r.body.find("alpha"), std::string::npos);
  }
  EXPECT_EQ(PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "x"}}).status, 401);
  EXPECT_EQ(HttpCall(port, "GET", "/metrics").status, 401);

  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 200);
  EXPECT_EQ(HttpCall(port, "GET", "/ready").status, 200);
  for (const char* key : {"alpha", "beta", "gamma"}) {
    Headers auth = {{"Authorization", std::string("Bearer ") + key}};
    EXPECT_EQ(HttpCall(port, "GET", "/v1/models", "", auth).status, 200) << key;
  }
  Headers auth = {{"Authorization", "Bearer beta"}};
  HttpResult r = PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "x"}}, auth);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(AuthTest, UnreadableKeyFileRefusesToStart) {
  Config config = TestConfig();
  config.server.api_keys_file = TestTempDir() + "/no-such-keys.txt";
  auto runtime = ModelRuntime::Builder().SetConfig(config).Build();
  ASSERT_TRUE(runtime.ok());
  auto server = server::HttpServer::Create(**runtime, config);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelrt::testing
