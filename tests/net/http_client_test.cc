// HttpClient against a real loopback server (support/upstream_server.h): requests as sent,
// keep-alive reuse, chunked streams, every timeout, cancellation, limits, proxies.
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <future>

#include "support/connect_proxy.h"
#include "support/http_fetch.h"
#include "support/llama_test_models.h"
#include "support/run_command.h"
#include "support/upstream_server.h"

namespace modelrt::net {
namespace {

using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;
using namespace std::chrono_literals;

std::shared_ptr<HttpClient> NewClient(HttpClient::Options options = {}) {
  if (!options.env) options.env = [](const char*) -> std::optional<std::string> { return {}; };
  auto client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.error().ToString();
  return *client;
}

Url At(const UpstreamServer& server, const std::string& path) {
  return *ParseUrl(server.url() + path);
}

Result<HttpResponse> FetchNow(HttpClient& client, HttpRequest request,
                              HttpCallOptions options = {}) {
  return testing::FetchAndWait(std::move(request), std::move(options), &client);
}

TEST(HttpClientTest, SendsTheRequestAsGivenAndReadsTheAnswer) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Json(201, R"({"ok":1})");
    reply.headers.push_back({"X-Request-Id", "req-7"});
    return reply;
  });
  auto client = NewClient();
  auto r = FetchNow(*client, {.method = "POST",
                              .url = At(server, "/v1/embeddings?x=1"),
                              .headers = {{"authorization", "Bearer k"}},
                              .body = R"({"input":"hi"})"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->head.status, 201);
  EXPECT_EQ(r->body, R"({"ok":1})");
  EXPECT_EQ(r->head.Header("x-request-id").value_or(""), "req-7");
  ASSERT_EQ(server.requests().size(), 1u);
  const UpstreamRequestSeen seen = server.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/embeddings?x=1");
  EXPECT_EQ(seen.Header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen.Header("authorization"), "Bearer k");
  EXPECT_EQ(seen.Header("content-length"), "14");
  EXPECT_EQ(seen.Header("user-agent"), "modelrt/0.1");
  EXPECT_EQ(seen.body, R"({"input":"hi"})");
}

TEST(HttpClientTest, ReusesKeptAliveConnections) {
  UpstreamServer server([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, "{}"); });
  auto client = NewClient();
  for (int i = 0; i < 3; ++i) {
    auto r = FetchNow(*client, {.method = "GET", .url = At(server, "/models")});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client->stats().connections_reused, 2);
  EXPECT_EQ(client->stats().idle_connections, 1);
}

TEST(HttpClientTest, ANewConnectionWhenTheServerDroppedTheIdleOne) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Json(200, "{}");
    reply.close_silently = true;
    return reply;
  });
  auto client = NewClient();
  ASSERT_TRUE(FetchNow(*client, {.method = "GET", .url = At(server, "/a")}).ok());
  std::this_thread::sleep_for(50ms);  // the server's close reaches us
  auto second = FetchNow(*client, {.method = "GET", .url = At(server, "/b")});
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.requests().back().target, "/b");
}

TEST(HttpClientTest, StreamsChunksAsTheyArrive) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Sse({"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"});
    reply.chunk_delay = 200ms;
    return reply;
  });
  auto client = NewClient();
  std::promise<Status> done;
  std::string body;
  int chunks = 0;
  int status = 0;
  client->Stream({.method = "POST", .url = At(server, "/s")}, {},
                 {.on_head = [&](const HttpResponseHead& h) { status = h.status; },
                  .on_data =
                      [&](std::string_view c) {
                        body.append(c);
                        ++chunks;
                        return true;
                      },
                  .on_done = [&](Status s) { done.set_value(s); }});
  ASSERT_TRUE(done.get_future().get().ok());
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "data: 1\n\ndata: 2\n\ndata: 3\n\n");
  EXPECT_GE(chunks, 2);  // 200 ms apart: not one body read at the end (even on a busy machine)
}

TEST(HttpClientTest, RefusedConnectionIsUnavailable) {
  int port;
  {
    UpstreamServer gone([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, "{}"); });
    port = gone.port();
  }
  auto client = NewClient();
  auto r = FetchNow(*client,
                    {.method = "GET", .url = *ParseUrl("http://127.0.0.1:" + std::to_string(port))});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.error().message().find("connecting"), std::string::npos) << r.error().message();
}

TEST(HttpClientTest, FirstByteTimeoutAndDeadlineEachNameTheirPhase) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    return UpstreamReply::WithFault(r.target == "/head" ? UpstreamReply::Fault::kStallBeforeHead
                                                        : UpstreamReply::Fault::kStallAfterHead);
  });
  auto client = NewClient();
  auto first = FetchNow(*client, {.method = "GET", .url = At(server, "/head")},
                        {.first_byte_timeout = 100ms});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(first.error().message().find("timed out waiting for the answer (after 100 ms)"),
            std::string::npos)
      << first.error().message();

  auto idle = FetchNow(*client, {.method = "GET", .url = At(server, "/body")},
                       {.idle_timeout = 100ms});
  ASSERT_FALSE(idle.ok());
  EXPECT_NE(idle.error().message().find("timed out reading the answer"), std::string::npos)
      << idle.error().message();

  auto deadline = FetchNow(*client, {.method = "GET", .url = At(server, "/body")},
                           {.deadline = Clock::now() + 150ms});
  ASSERT_FALSE(deadline.ok());
  EXPECT_EQ(deadline.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(deadline.error().message().find("deadline exceeded"), std::string::npos);
}

TEST(HttpClientTest, CancellingClosesTheUpstreamConnection) {
  UpstreamServer server(
      [](const UpstreamRequestSeen&) { return UpstreamReply::WithFault(UpstreamReply::Fault::kStallAfterHead); });
  auto client = NewClient();
  auto cancel = std::make_shared<CancelSignal>();
  std::promise<Status> done;
  std::promise<void> head;
  client->Stream({.method = "GET", .url = At(server, "/s")}, {.cancel = cancel},
                 {.on_head = [&](const HttpResponseHead&) { head.set_value(); },
                  .on_data = [](std::string_view) { return true; },
                  .on_done = [&](Status s) { done.set_value(s); }});
  head.get_future().wait();
  EXPECT_EQ(server.open_connections(), 1);
  cancel->Cancel();
  Status status = done.get_future().get();
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  for (int i = 0; i < 500 && server.open_connections() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.open_connections(), 0);  // the upstream saw us leave
}

TEST(HttpClientTest, BodyOverTheLimitIsResourceExhausted) {
  UpstreamServer server(
      [](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, std::string(5000, 'x')); });
  auto client = NewClient();
  auto r = FetchNow(*client, {.method = "GET", .url = At(server, "/")}, {.max_body_bytes = 1000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kResourceExhausted);
}

TEST(HttpClientTest, ABodyCutShortIsUnavailable) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Json(200, std::string(1000, 'x'));
    reply.fault = UpstreamReply::Fault::kCloseMidBody;
    return reply;
  });
  auto client = NewClient();
  auto r = FetchNow(*client, {.method = "GET", .url = At(server, "/")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable) << r.error().ToString();
}

TEST(HttpClientTest, PlainHttpThroughAProxySendsTheAbsoluteUrl) {
  UpstreamServer proxy([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, "{}"); });
  const std::string proxy_url = proxy.url();
  auto client = NewClient({.env = [proxy_url](const char* name) -> std::optional<std::string> {
    if (std::string(name) == "http_proxy") return proxy_url;
    return std::nullopt;
  }});
  auto r = FetchNow(*client, {.method = "GET", .url = *ParseUrl("http://upstream.test:8000/v1/models")});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].target, "http://upstream.test:8000/v1/models");
  EXPECT_EQ(proxy.requests()[0].Header("host"), "upstream.test:8000");
}

TEST(HttpClientTest, HttpsThroughAProxyAsksForACONNECTTunnel) {
  UpstreamServer proxy([](const UpstreamRequestSeen&) { return UpstreamReply::Json(403, ""); });
  const std::string proxy_url = proxy.url();
  auto client = NewClient({.env = [proxy_url](const char* name) -> std::optional<std::string> {
    if (std::string(name) == "HTTPS_PROXY") return proxy_url;
    return std::nullopt;
  }});
  auto r = FetchNow(*client, {.method = "GET", .url = *ParseUrl("https://api.example.test/v1/models")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("refused CONNECT with status 403"), std::string::npos)
      << r.error().message();
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].method, "CONNECT");
  EXPECT_EQ(proxy.requests()[0].target, "api.example.test:443");
}

TEST(HttpClientTest, RunAfterWaitsWithoutAThreadAndCancelCutsItShort) {
  auto client = NewClient();
  std::promise<void> fired;
  const auto start = Clock::now();
  client->RunAfter(50ms, nullptr, [&] { fired.set_value(); });
  fired.get_future().wait();
  EXPECT_GE(Clock::now() - start, 50ms);

  auto cancel = std::make_shared<CancelSignal>();
  std::promise<void> cut;
  client->RunAfter(std::chrono::hours(1), cancel, [&] { cut.set_value(); });
  cancel->Cancel();
  EXPECT_EQ(cut.get_future().wait_for(10s), std::future_status::ready);
}

TEST(HttpClientTest, ManyConcurrentStreamsOnOneLoopThread) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Sse({"data: a\n\n", "data: b\n\n"});
    reply.chunk_delay = 200ms;
    return reply;
  });
  auto client = NewClient();
  constexpr int kStreams = 100;
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  std::promise<void> all;
  for (int i = 0; i < kStreams; ++i) {
    client->Stream({.method = "POST", .url = At(server, "/s")}, {},
                   {.on_head = nullptr,
                    .on_data = [](std::string_view) { return true; },
                    .on_done = [&](Status s) {
                      if (s.ok()) ++ok;
                      if (++finished == kStreams) all.set_value();
                    }});
  }
  // All in flight at once on the one loop thread: they finish together, not one after another.
  ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(ok.load(), kStreams);
  EXPECT_EQ(server.connections(), kStreams);
}

// A self-signed certificate for `names` (subjectAltName entries such as "DNS:localhost,IP:127.0.0.1"),
// made with the openssl tool; nullopt when the tool is missing.
std::optional<testing::UpstreamTls> SelfSigned(const std::string& tag, const std::string& names) {
  const std::string dir = testing::TestTempDir() + "/tls-" + tag;
  testing::RunCommand("mkdir -p " + dir);
  const testing::CommandResult r = testing::RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=modelrt-test -keyout " + dir +
      "/key.pem -out " + dir + "/cert.pem -addext subjectAltName=" + names + " 2>&1");
  if (r.exit_code != 0) return std::nullopt;
  return testing::UpstreamTls{dir + "/cert.pem", dir + "/key.pem"};
}

TEST(HttpClientTest, TlsIsVerifiedAgainstTheTrustedCaAndTheHostName) {
  auto tls = SelfSigned("ok", "DNS:localhost,IP:127.0.0.1");
  if (!tls) GTEST_SKIP() << "the openssl tool is not installed";
  UpstreamServer server([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, R"({"tls":1})"); },
                        *tls);
  auto trusting = NewClient({.ca_file = tls->cert_file});
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto r = FetchNow(*trusting, {.method = "GET",
                                  .url = *ParseUrl("https://" + host + ":" +
                                                   std::to_string(server.port()) + "/v1/models")});
    ASSERT_TRUE(r.ok()) << host << ": " << r.error().ToString();
    EXPECT_EQ(r->body, R"({"tls":1})");
  }
  EXPECT_EQ(server.requests().at(0).target, "/v1/models");

  // The system store does not know this certificate: refused, and the error says why.
  auto plain = NewClient();
  auto refused = FetchNow(*plain, {.method = "GET", .url = At(server, "/v1/models")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.error().message().find("TLS handshake"), std::string::npos)
      << refused.error().message();
}

TEST(HttpClientTest, TlsRefusesACertificateForAnotherHost) {
  auto tls = SelfSigned("other", "DNS:other.example");
  if (!tls) GTEST_SKIP() << "the openssl tool is not installed";
  UpstreamServer server([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, "{}"); },
                        *tls);
  auto client = NewClient({.ca_file = tls->cert_file});  // trusted, but not for 127.0.0.1
  auto r = FetchNow(*client, {.method = "GET", .url = At(server, "/")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS handshake"), std::string::npos) << r.error().message();
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpClientTest, HttpsGoesThroughAConnectTunnelWithTlsToTheUpstreamInside) {
  // The host is made up: loopback never goes through a proxy, and the proxy routes every
  // tunnel to 127.0.0.1. The certificate is for that name, so SNI and the host-name check are
  // the upstream's, not the proxy's.
  auto tls = SelfSigned("tunnel", "DNS:upstream.tunnel.test");
  if (!tls) GTEST_SKIP() << "the openssl tool is not installed";
  UpstreamServer server([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, R"({"via":"tunnel"})"); },
                        *tls);
  testing::ConnectProxy proxy;
  const std::string proxy_url = proxy.url();
  auto client = NewClient({.ca_file = tls->cert_file,
                           .env = [proxy_url](const char* name) -> std::optional<std::string> {
                             if (std::string(name) == "HTTPS_PROXY") return proxy_url;
                             return std::nullopt;
                           }});
  const std::string authority = "upstream.tunnel.test:" + std::to_string(server.port());
  for (int i = 0; i < 2; ++i) {  // the second request reuses the tunnel, kept alive
    auto r = FetchNow(*client, {.method = "POST",
                                .url = *ParseUrl("https://" + authority + "/v1/embeddings"),
                                .body = R"({"input":"x"})"});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->head.status, 200);
    EXPECT_EQ(r->body, R"({"via":"tunnel"})");
  }
  EXPECT_EQ(proxy.targets(), std::vector<std::string>{authority});
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0].target, "/v1/embeddings");  // origin form inside the tunnel
  EXPECT_EQ(server.requests()[0].Header("host"), authority);
  EXPECT_EQ(server.requests()[1].connection, server.requests()[0].connection);
}

TEST(HttpClientTest, AnUnreadableCaFileIsAClearError) {
  auto client = HttpClient::Create({.ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(client.error().message().find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace modelrt::net
