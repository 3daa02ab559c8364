// The HTTP layer end to end, in process: health, readiness, metrics (parsed by the real
// Prometheus parser), X-Request-Id, routing errors, malformed requests and body limits.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

void ExpectOpenAiError(const HttpResult& r, int status, const std::string& code = "") {
  EXPECT_EQ(r.status, status) << r.error << " " << r.body;
  Json body = r.json();
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_TRUE(body["error"]["message"].is_string()) << r.body;
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  EXPECT_TRUE(body["error"]["type"].is_string()) << r.body;
  EXPECT_TRUE(body["error"].contains("code")) << r.body;
  if (!code.empty()) {
    EXPECT_EQ(body["error"]["code"], code) << r.body;
  }
}

TEST(HttpBasicsTest, HealthAndRequestIds) {
  TestServer server;
  HttpResult r = HttpCall(server.port(), "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
  std::string generated = r.Header("X-Request-Id");
  EXPECT_EQ(generated.size(), 16u);

  r = HttpCall(server.port(), "GET", "/health", "", {{"X-Request-Id", "trace-42"}});
  EXPECT_EQ(r.Header("X-Request-Id"), "trace-42");
  // Errors carry it too.
  r = HttpCall(server.port(), "GET", "/nope", "", {{"X-Request-Id", "trace-43"}});
  ExpectOpenAiError(r, 404, "not_found");
  EXPECT_EQ(r.Header("X-Request-Id"), "trace-43");
  r = HttpCall(server.port(), "GET", "/v1/embeddings");
  ExpectOpenAiError(r, 405, "method_not_allowed");
  EXPECT_FALSE(r.Header("X-Request-Id").empty());
}

TEST(HttpBasicsTest, ReadyWaitsForRequiredModels) {
  // Nothing required: ready at once.
  {
    TestServer server;
    EXPECT_EQ(HttpCall(server.port(), "GET", "/ready").status, 200);
  }
  // A required model loading in the background that cannot load: never ready, and says why.
  Config config = TestConfig();
  config.models[0].required = true;
  config.models[0].warmup = WarmupPolicy::kBackground;
  config.models[0].model = TestTempDir() + "/missing.gguf";
  TestServer server(config);
  server.runtime().WaitForBackgroundWarmup();
  HttpResult r = HttpCall(server.port(), "GET", "/ready");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["status"], "not_ready");
  EXPECT_EQ(r.json()["models"]["embed"]["state"], "failed") << r.body;
  // An eager required model is loaded before the server starts: ready.
  Config eager = TestConfig();
  eager.models[1].required = true;
  eager.models[1].warmup = WarmupPolicy::kEager;
  TestServer eager_server(eager);
  r = HttpCall(eager_server.port(), "GET", "/ready");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["models"]["rerank"]["state"], "loaded") << r.body;
}

TEST(HttpBasicsTest, BadRequestsAreOpenAiErrors) {
  TestServer server;
  int port = server.port();
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", "{not json"), 400, "invalid_request");
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", "[1,2]"), 400);
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", ""), 400);
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", R"({"input":"x"})"), 400);
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", R"({"model":5,"input":"x"})"), 400);
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", R"({"model":"nope","input":"x"})"),
                    404, "model_not_found");
  ExpectOpenAiError(HttpCall(port, "POST", "/v1/embeddings", R"({"model":"chat","input":"x"})"),
                    400, "unsupported_task");
  ExpectOpenAiError(HttpCall(port, "GET", "/v1/models/nope"), 404, "model_not_found");
}

TEST(HttpBasicsTest, BodyOverTheLimitIs413) {
  TestServer server;
  std::string big = R"({"model":"embed","input":")" + std::string(300 << 10, 'a') + "\"}";
  HttpResult r = HttpCall(server.port(), "POST", "/v1/embeddings", big);
  ExpectOpenAiError(r, 413, "request_too_large");
  EXPECT_FALSE(r.Header("X-Request-Id").empty());
  // The server is still fine.
  EXPECT_EQ(HttpCall(server.port(), "GET", "/health").status, 200);
}

TEST(HttpBasicsTest, MalformedHttpGetsA400AndTheServerSurvives) {
  TestServer server;
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.connected());
    c.Send("THIS IS NOT HTTP\r\n\r\n");
    std::string reply = c.ReadAll();
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  }
  {
    RawConnection c(server.port());
    c.Send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"a\"");
    c.Close();  // body cut short: the server drops the connection quietly
  }
  {
    // Expect: 100-continue (curl's habit for larger bodies) is honoured.
    RawConnection c(server.port());
    std::string body = R"({"model":"embed","input":"hello"})";
    c.Send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    EXPECT_NE(c.ReadUntil("100 Continue").find("HTTP/1.1 100 Continue"), std::string::npos);
    c.Send(body);
    EXPECT_NE(c.ReadUntil("\"usage\"").find("HTTP/1.1 200"), std::string::npos) << c.received();
  }
  EXPECT_EQ(HttpCall(server.port(), "GET", "/health").status, 200);
}

TEST(HttpBasicsTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer server;
  RawConnection c(server.port());
  std::string request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  c.Send(request + request);  // pipelined
  c.ReadUntil("}HTTP");
  c.Send("GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = c.ReadAll();
  size_t count = 0;
  for (size_t pos = 0; (pos = all.find("HTTP/1.1 200", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 3u) << all;
}

TEST(HttpBasicsTest, QueueDepthIsThereAtZeroBeforeAModelsFirstRequest) {
  TestServer server;
  // What an autoscaler reads from a replica that just started: every model's series, at 0.
  HttpResult r = HttpCall(server.port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("modelrt_queue_depth{model=\"embed\"} 0"), std::string::npos) << r.body;
}

std::string Python() {
  // Debian's python3-prometheus-client lives under /usr/bin/python3 (a pyenv python may not
  // see it).
  return std::ifstream("/usr/bin/python3").good() ? "/usr/bin/python3" : "python3";
}

TEST(HttpBasicsTest, MetricsParseWithThePrometheusParser) {
  TestServer server;
  int port = server.port();
  ASSERT_EQ(PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "hello"}}).status, 200);
  ASSERT_EQ(PostJson(port, "/v1/embeddings", {{"model", "nope"}, {"input", "x"}}).status, 404);
  // A request is counted once its response is written, so the client may ask for /metrics a
  // moment before its requests are in: wait (at most 5 s) for both.
  HttpResult r;
  for (int i = 0; i < 100; ++i) {
    r = HttpCall(port, "GET", "/metrics");
    if (r.body.find("route=\"/v1/embeddings\",model=\"embed\",status=\"200\"") !=
            std::string::npos &&
        r.body.find("route=\"/v1/embeddings\",model=\"\",status=\"404\"") !=
            std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("Content-Type").find("text/plain"), std::string::npos);

  std::string path = TestTempDir() + "/metrics.txt";
  std::ofstream(path) << r.body;
  std::string script =
      "import sys\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
      "    for s in f.samples:\n"
      "        print(s.name, ','.join(k + '=' + v for k, v in sorted(s.labels.items())), s.value)\n";
  std::string script_path = TestTempDir() + "/parse_metrics.py";
  std::ofstream(script_path) << script;
  std::string command = Python() + " " + script_path + " " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  int rc = pclose(pipe);
  ASSERT_EQ(rc, 0) << out << "\n--- metrics ---\n" << r.body;

  auto has = [&](const std::string& needle) { return out.find(needle) != std::string::npos; };
  EXPECT_TRUE(has("modelrt_http_requests_total model=embed,route=/v1/embeddings,status=200 1.0"))
      << out;
  EXPECT_TRUE(has("modelrt_http_requests_total model=,route=/v1/embeddings,status=404 1.0")) << out;
  EXPECT_TRUE(has("modelrt_http_request_duration_seconds_bucket le=+Inf,model=embed,"
                  "route=/v1/embeddings 1.0")) << out;
  EXPECT_TRUE(has("modelrt_prompt_tokens_total model=embed")) << out;
  EXPECT_TRUE(has("modelrt_queue_depth model=embed 0.0")) << out;
  EXPECT_TRUE(has("modelrt_model_loads_total")) << out;
  EXPECT_TRUE(has("modelrt_model_load_seconds")) << out;
  EXPECT_TRUE(has("modelrt_model_loaded model=embed 1.0")) << out;
  EXPECT_TRUE(has("modelrt_http_requests_in_flight")) << out;
}

}  // namespace
}  // namespace modelrt::testing
