// Serving under load, over real HTTP: 64 concurrent mixed requests all answered correctly, a
// full per-model queue answered 429 while other models keep serving, and a client dropping a
// stream frees its generation slot.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "catalog/options_json.h"
#include "core/json.h"
#include "http_test_client.h"
#include "modelrt/lifecycle.h"
#include "support/fault_injecting_provider.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

// Polls /metrics until `needle` appears (bounded: a missing line fails, never hangs).
bool WaitForMetric(int port, const std::string& needle, std::string* last = nullptr) {
  for (int i = 0; i < 300; ++i) {
    HttpResult r = HttpCall(port, "GET", "/metrics");
    if (last) *last = r.body;
    if (r.body.find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

double MetricValue(const std::string& text, const std::string& series) {
  size_t at = text.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 1));
}

TEST(LoadTest, SixtyFourConcurrentMixedRequestsAllAnsweredCorrectly) {
  TestServer server;
  const int port = server.port();
  const std::vector<std::string> texts = {"the cat", "a dog ran", "stocks fell", "rain today"};
  const std::vector<std::string> docs = {"a cat sat", "markets", "weather report", "dogs bark"};
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Tom and Sue",
                                            "One day"};
  auto embed = [&](int v) {
    return PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", texts[v]}});
  };
  auto rerank = [&](int v) {
    return PostJson(port, "/v1/rerank",
                    {{"model", "rerank"}, {"query", texts[v]}, {"documents", docs}});
  };
  auto chat = [&](int v) {
    return PostJson(port, "/v1/chat/completions",
                    {{"model", "chat"},
                     {"messages", {{{"role", "user"}, {"content", prompts[v]}}}},
                     {"temperature", 0},
                     {"seed", v},  // a seed asks for the same text under any load
                     {"max_tokens", 8}});
  };
  // Answers computed one at a time, to compare the concurrent ones with.
  std::vector<std::vector<float>> embed_ref;
  std::vector<Json> rerank_ref;
  std::vector<std::string> chat_ref;
  for (int v = 0; v < 4; ++v) {
    HttpResult e = embed(v), r = rerank(v), c = chat(v);
    ASSERT_EQ(e.status, 200) << e.body;
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(c.status, 200) << c.body;
    embed_ref.push_back(e.json()["data"][0]["embedding"].get<std::vector<float>>());
    rerank_ref.push_back(r.json()["results"]);
    chat_ref.push_back(c.json()["choices"][0]["message"]["content"]);
  }

  std::mutex mu;
  std::vector<std::string> failures;
  int ok = 0;
  auto fail = [&](int i, const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    failures.push_back("request " + std::to_string(i) + ": " + why);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      int v = (i / 3) % 4;
      HttpResult r = i % 3 == 0 ? embed(v) : i % 3 == 1 ? rerank(v) : chat(v);
      if (r.status != 200) return fail(i, std::to_string(r.status) + " " + r.error + " " + r.body);
      Json body = r.json();
      if (i % 3 == 0) {
        auto got = body["data"][0]["embedding"].get<std::vector<float>>();
        if (got.size() != embed_ref[v].size()) return fail(i, "embedding size");
        for (size_t k = 0; k < got.size(); ++k) {
          if (std::abs(got[k] - embed_ref[v][k]) > 1e-3) return fail(i, "embedding differs");
        }
      } else if (i % 3 == 1) {
        const Json& results = body["results"];
        if (results.size() != rerank_ref[v].size()) return fail(i, "rerank size");
        for (size_t k = 0; k < results.size(); ++k) {
          double got = results[k]["relevance_score"], want = rerank_ref[v][k]["relevance_score"];
          if (std::abs(got - want) > 1e-3) return fail(i, "rerank score differs");
        }
      } else {
        if (body["choices"][0]["message"]["content"] != chat_ref[v]) {
          return fail(i, "chat text differs: " + body.dump());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures[0];
  EXPECT_EQ(ok, 64);
}

TEST(LoadTest, FullQueueIs429WhileOtherModelsKeepServing) {
  Config config = TestConfig();
  config.server.queue_capacity = 1;
  auto real = CreateProvider(config.providers[0]);
  ASSERT_TRUE(real.ok());
  // A TEST DOUBLE around the real provider: it makes chat1's load slow, so one request holds
  // chat1's only queue place for a known while.
  auto faulty = std::make_shared<FaultInjectingProvider>(*real);
  Config without_providers = config;
  without_providers.providers.clear();
  auto runtime = ModelRuntime::Builder().SetConfig(without_providers).AddProvider(faulty).Build();
  ASSERT_TRUE(runtime.ok()) << runtime.error().ToString();
  ASSERT_TRUE((*runtime)->lifecycle().Prefetch({"embed"}).ok());
  faulty->SetLoadDelay(std::chrono::milliseconds(3000));
  TestServer server(std::move(runtime).value(), config);
  const int port = server.port();

  Json chat1 = {{"model", "chat1"},
                {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                {"max_tokens", 4}};
  HttpResult first;
  std::thread slow([&] { first = PostJson(port, "/v1/chat/completions", chat1); });
  std::string metrics;
  ASSERT_TRUE(WaitForMetric(port, "modelrt_queue_depth{model=\"chat1\"} 1", &metrics)) << metrics;

  HttpResult refused = PostJson(port, "/v1/chat/completions", chat1);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.Header("Retry-After"), "1");
  EXPECT_EQ(refused.json()["error"]["type"], "rate_limit_error");
  // The slow model stalls nothing else.
  EXPECT_EQ(PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "x"}}).status, 200);
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 200);

  slow.join();
  EXPECT_EQ(first.status, 200) << first.body;
  // The place is free again.
  EXPECT_EQ(PostJson(port, "/v1/chat/completions", chat1).status, 200);
}

TEST(LoadTest, DroppedStreamCancelsGenerationAndFreesTheSlot) {
  Config config = TestConfig();
  config.server.max_tokens_limit = 4096;
  config.models[3].options = MakeOptions({{"ctx", 2048}, {"parallel", 1}});  // chat1: one slot
  TestServer server(config);
  const int port = server.port();

  Json request = {{"model", "chat1"},
                  {"messages", {{{"role", "user"}, {"content", "Tell a long story."}}}},
                  {"max_tokens", 2000},
                  {"ignore_eos", true},
                  {"stream", true}};
  std::string body = request.dump();
  RawConnection c(port);
  ASSERT_TRUE(c.connected());
  c.Send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string got = c.ReadUntil("\"content\":\"", std::chrono::seconds(30));
  ASSERT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  c.Close();

  // The server notices, cancels the generation and records the request as 499.
  std::string metrics;
  ASSERT_TRUE(WaitForMetric(
      port, "route=\"/v1/chat/completions\",model=\"chat1\",status=\"499\"} 1", &metrics))
      << metrics;
  double generated = MetricValue(metrics, "modelrt_completion_tokens_total{model=\"chat1\"}");
  EXPECT_GE(generated, 1);
  EXPECT_LT(generated, 2000) << "the generation ran to its end instead of being cancelled";

  // The single slot is free: the next request on chat1 completes.
  HttpResult next = PostJson(port, "/v1/chat/completions",
                             {{"model", "chat1"},
                              {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                              {"max_tokens", 4}});
  EXPECT_EQ(next.status, 200) << next.body;
}

// The gauges balancers and autoscalers read: what waits for and what runs on a generation
// engine, and how much of its KV cache the running sequences hold.
TEST(LoadTest, WaitingRunningAndKvCacheGaugesFollowTheEngine) {
  Config config = TestConfig();
  config.server.max_tokens_limit = 4096;
  config.models[3].options = MakeOptions({{"ctx", 2048}, {"parallel", 1}});  // chat1: one slot
  TestServer server(config);
  const int port = server.port();
  const std::string body = Json{{"model", "chat1"},
                                {"messages", {{{"role", "user"}, {"content", "Tell a long story."}}}},
                                {"max_tokens", 2000},
                                {"ignore_eos", true},
                                {"stream", true}}
                               .dump();
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  RawConnection running(port), waiting(port);
  ASSERT_TRUE(running.connected() && waiting.connected());
  running.Send(request);
  ASSERT_NE(running.ReadUntil("\"content\":\"", std::chrono::seconds(30)).find("HTTP/1.1 200"),
            std::string::npos);
  waiting.Send(request);  // the only slot is taken: this one queues in the engine
  // Once the first one's prompt is decoded (its stream opens with a role chunk before that),
  // its tokens are in the KV cache.
  std::string metrics;
  double used = 0;
  for (int i = 0; i < 300 && used <= 0; ++i) {
    ASSERT_TRUE(WaitForMetric(port, "modelrt_requests_waiting{model=\"chat1\"} 1", &metrics))
        << metrics;
    used = MetricValue(metrics, "modelrt_kv_cache_tokens{model=\"chat1\"}");
    if (used <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(MetricValue(metrics, "modelrt_requests_running{model=\"chat1\"}"), 1) << metrics;
  EXPECT_GT(used, 0) << metrics;
  EXPECT_NEAR(MetricValue(metrics, "modelrt_kv_cache_usage_ratio{model=\"chat1\"}"), used / 2048,
              1e-9);
  // Embedding models queue nothing of their own: none waits.
  EXPECT_EQ(MetricValue(metrics, "modelrt_requests_waiting{model=\"embed\"}"), 0) << metrics;

  running.Close();
  waiting.Close();
  ASSERT_TRUE(WaitForMetric(port, "modelrt_requests_running{model=\"chat1\"} 0", &metrics))
      << metrics;
  ASSERT_TRUE(WaitForMetric(port, "modelrt_kv_cache_tokens{model=\"chat1\"} 0", &metrics))
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "modelrt_requests_waiting{model=\"chat1\"}"), 0) << metrics;
}

}  // namespace
}  // namespace modelrt::testing
