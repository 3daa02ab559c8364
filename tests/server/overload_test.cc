// Overload over real HTTP (issue 16): a model's queue is bounded by the work it holds (estimated
// tokens), not its request count; a refusal is a 429 with Retry-After, and /metrics exports the
// queue's work and estimated wait. The wait-based 503 and its Retry-After are computed from a
// measured rate; AdmissionControlTest covers them on a manual clock.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include "http_test_client.h"
#include "support/fault_injecting_provider.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

std::string MetricsBody(int port) { return HttpCall(port, "GET", "/metrics").body; }

TEST(OverloadTest, QueueIsBoundedByWorkNotRequests) {
  Config config = TestConfig();
  config.server.queue_capacity = 64;
  config.server.queue_max_tokens = 100;  // a 400-byte input is ~101 tokens: one fills the queue
  auto real = CreateProvider(config.providers[0]);
  ASSERT_TRUE(real.ok());
  auto faulty = std::make_shared<FaultInjectingProvider>(*real);
  // The first request holds its place while its model loads (lazily, slowly).
  faulty->SetLoadDelay(std::chrono::seconds(8));
  Config without_providers = config;
  without_providers.providers.clear();
  auto runtime = ModelRuntime::Builder().SetConfig(without_providers).AddProvider(faulty).Build();
  ASSERT_TRUE(runtime.ok()) << runtime.error().ToString();
  TestServer server(std::move(runtime).value(), config);
  const int port = server.port();

  const std::string big(400, 'a');
  auto first = std::async(std::launch::async, [&] {
    return PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", big}});
  });
  // Wait (without a time bound) until it is admitted: its work shows on /metrics.
  while (MetricsBody(port).find("modelrt_queue_work{model=\"embed\"} 101") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // One request queued, far below queue_capacity, but a second one's work does not fit.
  HttpResult refused = PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "tiny"}});
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.json()["error"]["code"], "queue_full") << refused.body;
  EXPECT_GE(std::stoi(refused.Header("Retry-After").empty() ? "0" : refused.Header("Retry-After")), 1);
  std::string metrics = MetricsBody(port);
  EXPECT_NE(metrics.find("modelrt_queue_estimated_wait_seconds{model=\"embed\"}"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("modelrt_queue_depth{model=\"embed\"} 1"), std::string::npos) << metrics;

  HttpResult served = first.get();
  EXPECT_EQ(served.status, 200) << served.body;
  // Drained: the queue holds nothing, and takes a request again.
  EXPECT_EQ(PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "tiny"}}).status, 200);
  metrics = MetricsBody(port);
  EXPECT_NE(metrics.find("modelrt_queue_work{model=\"embed\"} 0"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace modelrt::testing
