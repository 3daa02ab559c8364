// Model-side failures over real HTTP, through the one Status -> HTTP mapping: an unavailable
// engine (503 + Retry-After), a full engine queue (429), an internal fault (500), a per-call
// timeout (504), and a generation that fails after its stream began (an SSE error event, then
// [DONE]). Failures other than the timeout come from a TEST DOUBLE wrapped around the real
// llama provider: they cannot be caused on demand otherwise.
#include <gtest/gtest.h>

#include "core/json.h"
#include "http_test_client.h"
#include "support/fault_injecting_provider.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

struct FaultyServer {
  std::shared_ptr<FaultInjectingProvider> faulty;
  std::unique_ptr<TestServer> server;
};

FaultyServer StartFaulty(Config config) {
  FaultyServer out;
  auto real = CreateProvider(config.providers[0]);
  EXPECT_TRUE(real.ok());
  out.faulty = std::make_shared<FaultInjectingProvider>(*real);
  Config without_providers = config;
  without_providers.providers.clear();
  auto runtime =
      ModelRuntime::Builder().SetConfig(without_providers).AddProvider(out.faulty).Build();
  EXPECT_TRUE(runtime.ok()) << runtime.error().ToString();
  out.server = std::make_unique<TestServer>(std::move(runtime).value(), config);
  return out;
}

TEST(ModelErrorsTest, EngineFailuresMapToTheirHttpStatus) {
  FaultyServer s = StartFaulty(TestConfig());
  const int port = s.server->port();
  Json embed = {{"model", "embed"}, {"input", "x"}};

  s.faulty->FailNextCalls(1, UnavailableError("engine restarting"));
  HttpResult r = PostJson(port, "/v1/embeddings", embed);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_EQ(r.json()["error"]["type"], "server_error");
  EXPECT_EQ(r.json()["error"]["message"], "engine restarting");

  s.faulty->FailNextCalls(1, ResourceExhaustedError("generation queue full (256 requests)"));
  r = PostJson(port, "/v1/rerank", {{"model", "rerank"}, {"query", "q"}, {"documents", {"d"}}});
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.Header("Retry-After"), "1");

  s.faulty->FailNextCalls(1, InternalError("llama_decode failed"));
  r = PostJson(port, "/v1/completions", {{"model", "chat"}, {"prompt", "x"}, {"max_tokens", 2}});
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "internal_error");

  EXPECT_EQ(PostJson(port, "/v1/embeddings", embed).status, 200);  // faults used up
}

TEST(ModelErrorsTest, FailureAfterTheStreamBeganIsAnSseErrorEvent) {
  FaultyServer s = StartFaulty(TestConfig());
  s.faulty->FailNextGenerationsAfterStreaming(1, InternalError("engine lost its context"));
  HttpResult r = PostJson(s.server->port(), "/v1/chat/completions",
                          {{"model", "chat"},
                           {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                           {"max_tokens", 4},
                           {"ignore_eos", true},
                           {"stream", true}});
  ASSERT_EQ(r.status, 200) << r.body;  // the status line went out with the first token
  std::vector<std::string> events = SseData(r.body);
  ASSERT_GE(events.size(), 3u) << r.body;
  EXPECT_EQ(events.back(), "[DONE]");
  Json error = Json::parse(events[events.size() - 2]);
  EXPECT_EQ(error["error"]["message"], "engine lost its context") << r.body;
  EXPECT_EQ(error["error"]["type"], "server_error");
  EXPECT_EQ(r.body.find("finish_reason\":\"length"), std::string::npos);
}

TEST(ModelErrorsTest, PerCallTimeoutIs504) {
  Config config = TestConfig();
  config.models[2].timeout = std::chrono::milliseconds(1);  // chat
  TestServer server(config);
  HttpResult r = PostJson(server.port(), "/v1/completions",
                          {{"model", "chat"}, {"prompt", "Once upon a time"}, {"max_tokens", 60},
                           {"ignore_eos", true}});
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.json()["error"]["type"], "timeout_error");
}

}  // namespace
}  // namespace modelrt::testing
