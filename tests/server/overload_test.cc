// Overload over real HTTP (issue 16): a model's queue is bounded by the work it holds (estimated
// tokens), not its request count; a refusal is a 429 with Retry-After, and /metrics exports the
// queue's work and estimated wait. The wait-based 503 and its Retry-After are computed from a
// measured rate; AdmissionControlTest covers them on a manual clock.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include "catalog/options_json.h"
#include "core/json.h"
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

TEST(OverloadTest, RequestThatCannotStartWithinItsQueueLimitGets503) {
  Config config = TestConfig();
  config.server.max_queue_wait_ms = 300;
  config.server.max_tokens_limit = 8000;
  for (ModelSpec& m : config.models) {
    if (m.alias == "chat1")
      m.options = WithOption(m.options, "ctx", 8192);  // room for a generation that outlasts B
  }
  TestServer server(config);
  const int port = server.port();

  // A: a long streamed generation holds chat1's only slot; read until its first token.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket a(ioc);
  ASSERT_FALSE(Connect(a, port));
  const std::string body =
      Json{{"model", "chat1"}, {"prompt", "Once upon a time"}, {"max_tokens", 8000},
           {"ignore_eos", true}, {"stream", true}}
          .dump();
  boost::asio::write(a, boost::asio::buffer("POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                                            "Content-Type: application/json\r\nContent-Length: " +
                                            std::to_string(body.size()) + "\r\n\r\n" + body));
  std::string seen;
  char buf[4096];
  while (seen.find("data: {") == std::string::npos) {
    boost::system::error_code ec;
    size_t n = a.read_some(boost::asio::buffer(buf), ec);
    ASSERT_FALSE(ec) << ec.message() << " after: " << seen;
    seen.append(buf, n);
  }

  // B: queued behind A, which generates for far longer than B's 300 ms limit: refused when the
  // limit passes, not served late and not left waiting for A.
  HttpResult b = PostJson(port, "/v1/completions",
                          {{"model", "chat1"}, {"prompt", "Once"}, {"max_tokens", 4}});
  EXPECT_EQ(b.status, 503) << b.body;
  EXPECT_EQ(b.json()["error"]["code"], "overloaded") << b.body;
  EXPECT_NE(b.json()["error"]["message"].get<std::string>().find("chat1"), std::string::npos)
      << b.body;
  EXPECT_GE(std::stoi(b.Header("Retry-After").empty() ? "0" : b.Header("Retry-After")), 1);

  // A leaves; its slot is freed and chat1 serves again (a request may still meet A's last steps).
  a.close();
  HttpResult c;
  for (int i = 0; i < 100 && c.status != 200; ++i) {
    c = PostJson(port, "/v1/completions", {{"model", "chat1"}, {"prompt", "Once"}, {"max_tokens", 4}});
    if (c.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(c.status, 200) << c.body;
}

}  // namespace
}  // namespace modelrt::testing
