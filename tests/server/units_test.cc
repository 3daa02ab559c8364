// Unit tests of the server's pure pieces: router, error mapper, JSON field access, API keys,
// request ids, admission control, UTF-8 hold-back, base64, SSE chunk formats.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <thread>

#include "core/json.h"
#include "server/admission_control.h"
#include "server/api_key_auth.h"
#include "server/blocking_executor.h"
#include "server/chunked_response_stream.h"
#include "server/completion_format.h"
#include "server/embeddings_handler.h"
#include "server/error_mapper.h"
#include "server/json_fields.h"
#include "server/request_id.h"
#include "server/router.h"
#include "support/llama_test_models.h"

namespace modelrt::server {
namespace {

HttpResponse Named(std::string name) {
  HttpResponse r;
  r.body = std::move(name);
  return r;
}

TEST(RouterTest, MatchesLiteralsCapturesAndMethods) {
  Router router;
  router.Add("GET", "/v1/models", [](const HttpRequest&, RequestContext&) { return Named("list"); });
  router.Add("GET", "/v1/models/{id}",
             [](const HttpRequest&, RequestContext&) { return Named("get"); });
  router.Add("POST", "/v1/embeddings",
             [](const HttpRequest&, RequestContext&) { return Named("embed"); });

  RouteMatch m = router.Match("GET", "/v1/models/");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/v1/models");

  m = router.Match("GET", "/v1/models/org%2Fname");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/v1/models/{id}");
  EXPECT_EQ(m.params["id"], "org/name");

  EXPECT_EQ(router.Match("GET", "/v1/embeddings").kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(router.Match("POST", "/v1/nothing").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/v1/models/a/b").kind, RouteMatch::Kind::kNotFound);
}

TEST(ErrorMapperTest, MapsEveryCodeToStatusTypeAndShape) {
  struct Case {
    Status status;
    int http;
    std::string type;
    std::string code;
  };
  std::vector<Case> cases = {
      {NotFoundError("m"), 404, "invalid_request_error", "model_not_found"},
      {InvalidArgumentError("m"), 400, "invalid_request_error", "invalid_request"},
      {CapabilityMismatchError("m"), 400, "invalid_request_error", "unsupported_task"},
      {ResourceExhaustedError("m"), 429, "rate_limit_error", "queue_full"},
      {DeadlineExceededError("m"), 504, "timeout_error", "timeout"},
      {UnavailableError("m"), 503, "server_error", "unavailable"},
      {UnauthenticatedError("m"), 401, "invalid_request_error", "invalid_api_key"},
      {PermissionDeniedError("m"), 403, "permission_error", "permission_denied"},
      {InternalError("m"), 500, "server_error", "internal_error"},
  };
  for (const Case& c : cases) {
    HttpResponse r = ErrorResponse(c.status);
    SCOPED_TRACE(c.status.ToString());
    EXPECT_EQ(r.status, c.http);
    Json body = Json::parse(r.body);
    EXPECT_EQ(body["error"]["message"], "m");
    EXPECT_EQ(body["error"]["type"], c.type);
    EXPECT_EQ(body["error"]["code"], c.code);
    EXPECT_EQ(r.headers.Get("content-type"), "application/json");
  }
  EXPECT_EQ(ErrorResponse(ResourceExhaustedError("full")).headers.Get("Retry-After"), "1");
  EXPECT_EQ(ErrorResponse(UnauthenticatedError("no")).headers.Get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(ErrorResponse(PayloadTooLargeError(10)).status, 413);
}

TEST(JsonFieldsTest, TypedAccessNamesTheField) {
  EXPECT_FALSE(ParseJsonObject("{bad").ok());
  EXPECT_FALSE(ParseJsonObject("[1]").ok());
  EXPECT_FALSE(ParseJsonObject("").ok());
  Json body = Json::parse(R"({"s":"x","i":5,"f":5.5,"n":null,"b":true,"e":""})");
  EXPECT_EQ(*RequiredString(body, "s"), "x");
  Result<std::string> missing = RequiredString(body, "n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("'n'"), std::string::npos);
  EXPECT_FALSE(RequiredString(body, "e").ok());
  EXPECT_FALSE(RequiredString(body, "i").ok());
  EXPECT_EQ(**OptionalInt(body, "i", 0, 10), 5);
  EXPECT_FALSE(OptionalInt(body, "i", 6, 10).ok());
  EXPECT_FALSE(OptionalInt(body, "f", 0, 10).ok());
  EXPECT_FALSE(OptionalInt(body, "n", 0, 10)->has_value());
  EXPECT_DOUBLE_EQ(**OptionalNumber(body, "f", 0, 10), 5.5);
  EXPECT_FALSE(OptionalNumber(body, "s", 0, 10).ok());
  EXPECT_TRUE(**OptionalBool(body, "b"));
  EXPECT_FALSE(OptionalBool(body, "i").ok());
  Json stops = Json::parse(R"({"one":"a","many":["a","b","c"],"bad":[1]})");
  EXPECT_EQ(OptionalStringList(stops, "one", 4)->size(), 1u);
  EXPECT_EQ(OptionalStringList(stops, "many", 4)->size(), 3u);
  EXPECT_FALSE(OptionalStringList(stops, "many", 2).ok());
  EXPECT_FALSE(OptionalStringList(stops, "bad", 4).ok());
}

TEST(ApiKeyAuthTest, BearerKeysFromEnvAndFile) {
  EXPECT_TRUE(ApiKeyAuth().Check("").ok());  // no keys: open

  std::string file = testing::TestTempDir() + "/keys.txt";
  std::ofstream(file) << "# comment\nfile-key\n\n";
  setenv("MODELRT_UNIT_TEST_KEYS", "env-key-1, env-key-2", 1);
  ServerConfig config;
  config.api_keys_env = "MODELRT_UNIT_TEST_KEYS";
  config.api_keys_file = file;
  Result<ApiKeyAuth> auth = ApiKeyAuth::FromConfig(config);
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  EXPECT_EQ(auth->key_count(), 3u);
  EXPECT_TRUE(auth->Check("Bearer env-key-1").ok());
  EXPECT_TRUE(auth->Check("bearer env-key-2").ok());
  EXPECT_TRUE(auth->Check("Bearer file-key").ok());
  for (const char* bad : {"", "Bearer", "Bearer wrong", "Basic env-key-1", "env-key-1",
                          "Bearer env-key-1x", "Bearer # comment"}) {
    Status s = auth->Check(bad);
    EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(s.message().find("env-key"), std::string::npos) << "keys must not be echoed";
  }
  unsetenv("MODELRT_UNIT_TEST_KEYS");

  config.api_keys_file = testing::TestTempDir() + "/missing-keys.txt";
  EXPECT_EQ(ApiKeyAuth::FromConfig(config).error().code(), StatusCode::kInvalidArgument);
}

TEST(RequestIdTest, EchoesSafeIdsAndReplacesOthers) {
  EXPECT_EQ(RequestIdFor("abc-123"), "abc-123");
  EXPECT_EQ(RequestIdFor("").size(), 16u);
  EXPECT_NE(RequestIdFor("has space"), "has space");
  EXPECT_NE(RequestIdFor(std::string(129, 'a')), std::string(129, 'a'));
  EXPECT_NE(RequestIdFor(""), RequestIdFor(""));
  EXPECT_EQ(NewResponseId("chatcmpl-").rfind("chatcmpl-", 0), 0u);
}

TEST(AdmissionControlTest, RefusesPastCapacityAndReleases) {
  MetricsRegistry metrics;
  AdmissionControl admission({.max_requests = 2}, metrics);
  auto a = admission.Admit("m");
  auto b = admission.Admit("m");
  ASSERT_TRUE(a.ticket && b.ticket);
  auto c = admission.Admit("m");
  ASSERT_FALSE(c.ticket);
  EXPECT_EQ(c.refusal.code(), StatusCode::kResourceExhausted);
  EXPECT_GE(c.retry_after_s, 1);
  EXPECT_TRUE(admission.Admit("other").ticket);  // per model
  EXPECT_EQ(admission.Depth("m"), 2);
  EXPECT_NE(metrics.RenderPrometheus().find("modelrt_queue_depth{model=\"m\"} 2"),
            std::string::npos);
  a.ticket->Release();
  EXPECT_EQ(admission.Depth("m"), 1);
  { auto d = admission.Admit("m"); EXPECT_TRUE(d.ticket); }
  EXPECT_EQ(admission.Depth("m"), 1);
  HttpResponse refused = RefusalResponse(c);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers.Get("Retry-After"), std::to_string(c.retry_after_s));
}

// A manual clock: the rate and the wait follow from the work and the time given, not the machine.
struct FakeClock {
  AdmissionControl::Clock::time_point now{std::chrono::hours(1)};
  void Advance(std::chrono::milliseconds d) { now += d; }
};

TEST(AdmissionControlTest, BoundsTheWorkHeldNotTheRequestCount) {
  MetricsRegistry metrics;
  AdmissionControl admission({.max_requests = 100, .max_work = 1000, .max_wait = {}}, metrics);
  auto big = admission.Admit("m", 900);
  ASSERT_TRUE(big.ticket);
  EXPECT_EQ(admission.Work("m"), 900);
  // 200 more would hold 1100 > 1000: refused, though only one request is queued.
  auto over = admission.Admit("m", 200);
  ASSERT_FALSE(over.ticket);
  EXPECT_EQ(over.refusal.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.refusal.message().find("tokens"), std::string::npos) << over.refusal.message();
  EXPECT_TRUE(admission.Admit("m", 100).ticket);  // fits exactly, released at once
  big.ticket->Release();
  EXPECT_EQ(admission.Work("m"), 0);
  // A request bigger than the whole limit is served alone rather than never.
  auto huge = admission.Admit("m", 5000);
  EXPECT_TRUE(huge.ticket);
  EXPECT_FALSE(admission.Admit("m", 1).ticket);
  EXPECT_NE(metrics.RenderPrometheus().find("modelrt_queue_work{model=\"m\"} 5000"),
            std::string::npos);
}

TEST(AdmissionControlTest, RefusesWhenTheEstimatedWaitPassesTheLimit) {
  MetricsRegistry metrics;
  auto clock = std::make_shared<FakeClock>();
  AdmissionControl admission({.max_requests = 1000,
                              .max_work = 1'000'000,
                              .max_wait = std::chrono::seconds(10),
                              .clock = [clock] { return clock->now; }},
                             metrics);
  // No rate yet: only the static limits apply.
  EXPECT_FALSE(admission.EstimatedWaitSeconds("m").has_value());
  // 8 requests of 100 units, each served in 1 s of busy time: a rate of 100 units/s (work and
  // busy time decay alike). Fewer finished requests make no rate.
  for (int i = 0; i < 8; ++i) {
    EXPECT_FALSE(admission.EstimatedWaitSeconds("m").has_value()) << i;
    auto served = admission.Admit("m", 100);
    ASSERT_TRUE(served.ticket);
    clock->Advance(std::chrono::seconds(1));
  }
  std::optional<double> wait = admission.EstimatedWaitSeconds("m");
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 0.0);
  // Hold 1500 units: 15 s of work ahead of the next request, past the 10 s limit. (Each
  // admission checks the work ahead of it: the last one saw 10 s, within the limit.)
  std::vector<AdmissionControl::Ticket> held;
  for (int i = 0; i < 10; ++i) {
    auto a = admission.Admit("m", 100);
    ASSERT_TRUE(a.ticket) << i;
    held.push_back(std::move(*a.ticket));
  }
  auto last = admission.Admit("m", 500);
  ASSERT_TRUE(last.ticket);
  held.push_back(std::move(*last.ticket));
  wait = admission.EstimatedWaitSeconds("m");
  ASSERT_TRUE(wait.has_value());
  EXPECT_NEAR(*wait, 15.0, 0.01);
  auto refused = admission.Admit("m", 100);
  ASSERT_FALSE(refused.ticket);
  EXPECT_EQ(refused.refusal.code(), StatusCode::kUnavailable);
  // Retry-After: when the queue will have drained to what starts within the limit (15 - 10 s).
  EXPECT_EQ(refused.retry_after_s, 5);
  HttpResponse response = RefusalResponse(refused);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.Get("Retry-After"), "5");
  // The gauge says the same (to rounding: work and busy time decayed over 8 steps).
  const std::string page = metrics.RenderPrometheus();
  const std::string series = "modelrt_queue_estimated_wait_seconds{model=\"m\"} ";
  const size_t at = page.find(series);
  ASSERT_NE(at, std::string::npos) << page;
  EXPECT_NEAR(std::stod(page.substr(at + series.size())), 15.0, 0.01) << page;
  // Once most of it is done, requests are admitted again.
  held.resize(4);
  EXPECT_TRUE(admission.Admit("m", 100).ticket);
}

// A restarted replica: its first request ran alone on a cold engine (100 units in 1 s), then
// the load balancer sends it its share of the traffic at once. One lone request's rate is no
// measure of what the engine does with its slots full: the burst is admitted (the engine's
// queue deadline still refuses a request that really waits too long).
TEST(AdmissionControlTest, AFirstLoneRequestMakesNoRate) {
  MetricsRegistry metrics;
  auto clock = std::make_shared<FakeClock>();
  AdmissionControl admission({.max_requests = 1000,
                              .max_work = 1'000'000,
                              .max_wait = std::chrono::seconds(10),
                              .clock = [clock] { return clock->now; }},
                             metrics);
  {
    auto first = admission.Admit("m", 100);
    ASSERT_TRUE(first.ticket);
    clock->Advance(std::chrono::seconds(1));
  }
  EXPECT_FALSE(admission.EstimatedWaitSeconds("m").has_value());
  std::vector<AdmissionControl::Ticket> burst;
  for (int i = 0; i < 16; ++i) {  // 1600 units: 16 s at the lone request's rate
    auto a = admission.Admit("m", 100);
    ASSERT_TRUE(a.ticket) << i;
    burst.push_back(std::move(*a.ticket));
  }
}

TEST(BlockingExecutorTest, RunsTasksConcurrentlyUpToTheLimit) {
  BlockingExecutor executor(4);
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, max_running = 0, done = 0;
  bool release = false;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(executor.Post([&] {
      std::unique_lock<std::mutex> lock(mu);
      max_running = std::max(max_running, ++running);
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
      --running;
      ++done;
      cv.notify_all();
    }));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return running == 4; });
    EXPECT_EQ(running, 4);  // four blocked at once: the limit, not one
    release = true;
    cv.notify_all();
  }
  executor.Shutdown();
  EXPECT_EQ(done, 8);
  EXPECT_EQ(max_running, 4);
  EXPECT_EQ(executor.thread_count(), 0u);
  EXPECT_FALSE(executor.Post([] {}));
}

TEST(BlockingExecutorTest, IdleThreadsExit) {
  BlockingExecutor executor(64, std::chrono::milliseconds(50));
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  bool release = false;
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(executor.Post([&] {
      std::unique_lock<std::mutex> lock(mu);
      ++running;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return running == 16; });
    release = true;
    cv.notify_all();
  }
  EXPECT_EQ(executor.thread_count(), 16u);  // the burst's threads, all blocked at once
  // Idle past their timeout, they leave (waited for, not timed: no bound on how long).
  while (executor.thread_count() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // And the executor still works: a new task starts a new thread.
  std::promise<void> ran;
  ASSERT_TRUE(executor.Post([&] { ran.set_value(); }));
  ran.get_future().wait();
  executor.Shutdown();
  EXPECT_EQ(executor.thread_count(), 0u);
}

TEST(ChunkedResponseStreamTest, FramesChunksAndDropsSlowClients) {
  EXPECT_EQ(ChunkedResponseStream::Frame("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(ChunkedResponseStream::Frame(std::string(26, 'x')).substr(0, 4), "1a\r\n");
  std::vector<std::string> chunks;
  int begins = 0;
  CallContext call;
  ChunkedResponseStream stream(
      [&](int status, HttpHeaders) { ++begins; return status == 200; },
      [&](std::string frame) { chunks.push_back(std::move(frame)); return true; }, call, 64);
  EXPECT_FALSE(stream.started());
  EXPECT_TRUE(stream.Begin(200, {}));
  EXPECT_TRUE(stream.Begin(200, {}));  // once only
  EXPECT_EQ(begins, 1);
  EXPECT_TRUE(stream.Write("data: 1\n\n"));
  EXPECT_TRUE(stream.Write(""));  // nothing to send
  EXPECT_EQ(chunks.size(), 1u);
  stream.SubPending(chunks[0].size());  // the session wrote it
  EXPECT_TRUE(stream.Write(std::string(40, 'a')));
  // Unwritten bytes past the limit: the client is too slow, the call is cancelled.
  EXPECT_FALSE(stream.Write(std::string(40, 'b')));
  EXPECT_FALSE(stream.alive());
  EXPECT_TRUE(call.cancelled());
  EXPECT_FALSE(stream.Write("more"));

  CallContext gone_call;
  ChunkedResponseStream gone([](int, HttpHeaders) { return false; },
                             [](std::string) { return false; }, gone_call, 64);
  EXPECT_FALSE(gone.Begin(200, {}));
  EXPECT_TRUE(gone_call.cancelled());
}

TEST(CompletionFormatTest, HoldsBackIncompleteUtf8) {
  EXPECT_EQ(CompleteUtf8Prefix("abc"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xC3"), 1u);            // lead of a 2-byte sequence
  EXPECT_EQ(CompleteUtf8Prefix("a\xC3\xA9"), 3u);        // é complete
  EXPECT_EQ(CompleteUtf8Prefix("\xE2\x82"), 0u);         // 2 of 3 bytes of €
  EXPECT_EQ(CompleteUtf8Prefix("x\xF0\x9F\x98\x80"), 5u);  // 4-byte emoji complete
  EXPECT_EQ(CompleteUtf8Prefix("x\xF0\x9F\x98"), 1u);
}

TEST(CompletionFormatTest, ChunksHaveOpenAiShape) {
  CompletionFormatter chat(CompletionKind::kChat, "chat", /*include_usage=*/true);
  auto parse = [](const std::string& event) {
    EXPECT_EQ(event.rfind("data: ", 0), 0u);
    EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
    return Json::parse(event.substr(6));
  };
  Json role = parse(chat.RoleChunk());
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(role["usage"].is_null());
  Json content = parse(chat.ContentChunk("hi"));
  EXPECT_EQ(content["choices"][0]["delta"]["content"], "hi");
  EXPECT_EQ(content["id"], role["id"]);
  Json finish = parse(chat.FinishChunk(GenerateResult{.finish_reason = FinishReason::kLength}));
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
  GenerateResult result{.text = "hi", .prompt_tokens = 3, .completion_tokens = 1};
  Json usage = parse(chat.UsageChunk(result));
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 4);

  CompletionFormatter text(CompletionKind::kText, "chat", false);
  EXPECT_EQ(text.RoleChunk(), "");
  EXPECT_EQ(text.UsageChunk(result), "");
  Json t = parse(text.ContentChunk("x"));
  EXPECT_EQ(t["object"], "text_completion");
  EXPECT_EQ(t["choices"][0]["text"], "x");
  EXPECT_FALSE(t.contains("usage"));
  Json whole = text.Response(result);
  EXPECT_EQ(whole["choices"][0]["text"], "hi");
  EXPECT_EQ(whole["usage"]["completion_tokens"], 1);
}

TEST(EmbeddingsHandlerTest, Base64IsLittleEndianFloat32) {
  // 1.0f = 00 00 80 3F, 2.0f = 00 00 00 40 -> "AACAPwAAAEA="
  EXPECT_EQ(EmbeddingsHandler::EncodeBase64({1.0f, 2.0f}), "AACAPwAAAEA=");
  EXPECT_EQ(EmbeddingsHandler::EncodeBase64({1.0f}), "AACAPw==");
  EXPECT_EQ(EmbeddingsHandler::EncodeBase64({}), "");
  // Truncation and renormalization moved to the library: tests/runtime/request_semantics_test.cc.
}

TEST(EmbeddingsHandlerTest, ParsesEveryInputShape) {
  auto parse = [](const char* json, size_t max = 8) {
    return EmbeddingsHandler::ParseInput(Json::parse(json), max);
  };
  EXPECT_EQ(parse(R"("hi")")->size(), 1u);
  EXPECT_EQ(parse(R"(["a","b"])")->size(), 2u);
  auto tokens = parse(R"([1,2,3])");
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(parse(R"([[1,2],[3]])")->size(), 2u);
  for (const char* bad : {R"("")", "[]", R"([""])", "[[]]", "5", R"({"a":1})", R"(["a",1])",
                          "[-1]", "[1.5]", R"([[1],"a",{}])", R"([[1,"x"]])"}) {
    EXPECT_EQ(parse(bad).error().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(parse(R"(["a","b","c"])", 2).ok());
}

}  // namespace
}  // namespace modelrt::server
