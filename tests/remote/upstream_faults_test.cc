// Remote calls when the upstream misbehaves, against a real loopback server that plays one
// (support/upstream_server.h): retries and their waits (Retry-After in seconds and as a date,
// retry-after-ms), the deadline across attempts, resets, stalls, cut and malformed bodies, broken
// streams, the mapping of upstream errors to ours, and the circuit breaker.
#include <gtest/gtest.h>

#include <atomic>

#include "core/json.h"
#include "modelrt/provider.h"
#include "net/retry_hints.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;
using Fault = UpstreamReply::Fault;

const char* kEmbedding = R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"usage":{"prompt_tokens":3,"total_tokens":3}})";

std::shared_ptr<Model> LoadFrom(const UpstreamServer& server, Task task,
                                const std::string& options = "{}",
                                const std::string& key_env = "") {
  Json merged = Json::parse(options);
  merged["probe"] = false;
  auto provider = CreateProvider({.id = "up",
                                  .type = "openai",
                                  .base_url = server.url() + "/v1",
                                  .api_key_env = key_env,
                                  .options = *Options::Parse(merged.dump())});
  EXPECT_TRUE(provider.ok()) << provider.error().ToString();
  if (!provider.ok()) return nullptr;
  ModelSpec spec;
  spec.alias = "a";
  spec.task = task;
  spec.provider = "up";
  spec.model = "m1";
  auto model = (*provider)->Load(spec, CallContext::WithTimeout(5s));
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  return model.ok() ? *model : nullptr;
}

Result<EmbedResult> EmbedOnce(const std::shared_ptr<Model>& model,
                              std::chrono::milliseconds timeout = 10s) {
  return std::dynamic_pointer_cast<EmbeddingModel>(model)->Embed(
      {.inputs = {{.text = "hi"}}}, CallContext::WithTimeout(timeout));
}

TEST(UpstreamFaultsTest, SendsOpenAisExactRequest) {
  setenv("MODELRT_TEST_UPSTREAM_KEY", "sk-test-123", 1);
  UpstreamServer server([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, kEmbedding); });
  auto model = LoadFrom(server, Task::kEmbed, R"({"headers": {"OpenAI-Organization": "org-9"}})",
                        "MODELRT_TEST_UPSTREAM_KEY");
  auto r = EmbedOnce(model);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->embeddings[0], (std::vector<float>{0.6f, 0.8f}));
  EXPECT_EQ(r->prompt_tokens, 3);
  ASSERT_EQ(server.requests().size(), 1u);
  const UpstreamRequestSeen seen = server.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/embeddings");
  EXPECT_EQ(seen.Header("authorization"), "Bearer sk-test-123");
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_EQ(seen.Header("openai-organization"), "org-9");
  EXPECT_EQ(Json::parse(seen.body),
            Json::parse(R"({"model":"m1","input":["hi"],"encoding_format":"float"})"));
}

TEST(UpstreamFaultsTest, RetriesA500ThenSucceeds) {
  std::atomic<int> calls{0};
  UpstreamServer server([&](const UpstreamRequestSeen&) {
    if (++calls < 3) return UpstreamReply::Json(500, R"({"error":{"message":"boom"}})");
    return UpstreamReply::Json(200, kEmbedding);
  });
  auto r = EmbedOnce(LoadFrom(server, Task::kEmbed, R"({"max_retries": 2})"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(calls.load(), 3);
}

TEST(UpstreamFaultsTest, RetriesSpentOnA500IsUpstreamFailedWithItsMessage) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(500, R"({"error":{"message":"the model crashed"}})");
  });
  auto r = EmbedOnce(LoadFrom(server, Task::kEmbed, R"({"max_retries": 1})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUpstreamFailed);
  EXPECT_NE(r.error().message().find("the model crashed"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(UpstreamFaultsTest, HonoursRetryAfterInSecondsAndAsADate) {
  for (const bool as_date : {false, true}) {
    std::atomic<int> calls{0};
    std::string when;
    if (as_date) {
      // An HTTP date 2 s ahead (whole seconds: the wait is 1-2 s).
      const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + 2s);
      char buf[64];
      std::tm tm{};
      gmtime_r(&t, &tm);
      strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      when = buf;
    } else {
      when = "1";
    }
    UpstreamServer server([&](const UpstreamRequestSeen&) {
      if (++calls == 1) {
        UpstreamReply reply = UpstreamReply::Json(429, R"({"error":{"message":"slow down"}})");
        reply.headers.push_back({"Retry-After", when});
        return reply;
      }
      return UpstreamReply::Json(200, kEmbedding);
    });
    auto model = LoadFrom(server, Task::kEmbed);
    const auto start = Clock::now();
    auto r = EmbedOnce(model);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(calls.load(), 2);
    EXPECT_GE(Clock::now() - start, 900ms) << (as_date ? "date" : "seconds");
  }
}

TEST(UpstreamFaultsTest, AWaitPastTheDeadlineAnswersAtOnceWith429) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Json(429, R"({"error":{"message":"quota"}})");
    reply.headers.push_back({"Retry-After", "30"});
    return reply;
  });
  auto model = LoadFrom(server, Task::kEmbed);
  const auto start = Clock::now();
  auto r = EmbedOnce(model, 2s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kResourceExhausted) << r.error().ToString();
  EXPECT_LT(Clock::now() - start, 10s);  // did not sleep towards the 30 s (slack for slow CI)
  EXPECT_NE(r.error().message().find("asked to wait 30 s"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(UpstreamFaultsTest, RefusedKeyIsUpstreamAuthFailedAndNotRetried) {
  for (int status : {401, 403}) {
    UpstreamServer server([&](const UpstreamRequestSeen&) {
      return UpstreamReply::Json(status, R"({"error":{"message":"Incorrect API key"}})");
    });
    auto r = EmbedOnce(LoadFrom(server, Task::kEmbed));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), StatusCode::kUpstreamAuthFailed) << status;
    EXPECT_EQ(server.requests().size(), 1u);
  }
}

TEST(UpstreamFaultsTest, ABadRequestIsTheClientsErrorAndNotRetried) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(400, R"({"error":{"message":"input too long"}})");
  });
  auto r = EmbedOnce(LoadFrom(server, Task::kEmbed));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("input too long"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(UpstreamFaultsTest, AResetIsRetried) {
  std::atomic<int> calls{0};
  UpstreamServer server([&](const UpstreamRequestSeen&) {
    if (++calls == 1) return UpstreamReply::WithFault(Fault::kResetBeforeHead);
    return UpstreamReply::Json(200, kEmbedding);
  });
  auto r = EmbedOnce(LoadFrom(server, Task::kEmbed));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(calls.load(), 2);
}

TEST(UpstreamFaultsTest, AStallEndsByTheDeadline) {
  UpstreamServer server(
      [](const UpstreamRequestSeen&) { return UpstreamReply::WithFault(Fault::kStallBeforeHead); });
  auto model = LoadFrom(server, Task::kEmbed);
  const auto start = Clock::now();
  auto r = EmbedOnce(model, 500ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_LT(Clock::now() - start, 10s);  // by the 0.5 s deadline, not the server's stall
}

TEST(UpstreamFaultsTest, CutAndMalformedBodiesAreUpstreamFailed) {
  std::atomic<int> calls{0};
  UpstreamServer server([&](const UpstreamRequestSeen&) {
    switch (++calls % 3) {
      case 1: {
        UpstreamReply reply = UpstreamReply::Json(200, kEmbedding);
        reply.fault = Fault::kCloseMidBody;
        return reply;
      }
      case 2: return UpstreamReply::Json(200, R"({"data": "nope"})");
      default: return UpstreamReply::Json(200, "<html>");
    }
  });
  auto model = LoadFrom(server, Task::kEmbed, R"({"max_retries": 0})");
  for (int i = 0; i < 3; ++i) {
    auto r = EmbedOnce(model);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), StatusCode::kUpstreamFailed) << r.error().ToString();
  }
}

TEST(UpstreamFaultsTest, ABrokenStreamAfterItsFirstTokenIsAnErrorNotARetry) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Sse(
        {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
         "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"});
    reply.fault = Fault::kCloseMidBody;  // after the first event
    return reply;
  });
  auto model = std::dynamic_pointer_cast<GeneratorModel>(LoadFrom(server, Task::kGenerate));
  std::string seen;
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  auto r = model->Generate(request, [&](std::string_view p) { seen += p; return true; },
                           CallContext::WithTimeout(5s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUpstreamFailed) << r.error().ToString();
  EXPECT_EQ(seen, "Hel");
  EXPECT_EQ(server.requests().size(), 1u);  // output was sent: never retried
}

TEST(UpstreamFaultsTest, AStreamThatDoesNotStartInTimeIsRetriedThenEndsByItsFirstTokenTimeout) {
  std::atomic<int> calls{0};
  std::atomic<bool> stall_all{false};
  UpstreamServer server([&](const UpstreamRequestSeen&) {
    if (++calls == 1 || stall_all) return UpstreamReply::WithFault(Fault::kStallBeforeHead);
    return UpstreamReply::Sse({"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n",
                               "data: [DONE]\n\n"});
  });
  auto model = std::dynamic_pointer_cast<GeneratorModel>(
      LoadFrom(server, Task::kGenerate, R"({"first_token_timeout_s": 0.3, "max_retries": 1})"));
  ASSERT_NE(model, nullptr);
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  std::string seen;
  // The first attempt stalls: its first-token timeout (not the 30 s deadline) ends it, and the
  // time left pays for a second attempt, which streams.
  auto r = model->Generate(request, [&](std::string_view p) { seen += p; return true; },
                           CallContext::WithTimeout(30s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(seen, "ok");
  EXPECT_EQ(calls.load(), 2);

  stall_all = true;
  const auto start = Clock::now();
  auto stalled = model->Generate(request, [](std::string_view) { return true; },
                                 CallContext::WithTimeout(30s));
  ASSERT_FALSE(stalled.ok());
  EXPECT_EQ(stalled.error().code(), StatusCode::kDeadlineExceeded) << stalled.error().ToString();
  EXPECT_NE(stalled.error().message().find("timed out waiting for the answer"), std::string::npos)
      << stalled.error().message();
  EXPECT_LT(Clock::now() - start, 20s);  // two 0.3 s attempts, far from the 30 s deadline
}

TEST(UpstreamFaultsTest, AStreamThatGoesQuietEndsByItsIdleTimeout) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Sse(
        {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
         "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
         "data: [DONE]\n\n"});
    reply.chunk_delay = 20s;  // the upstream stops talking after its first event
    return reply;
  });
  auto model = std::dynamic_pointer_cast<GeneratorModel>(
      LoadFrom(server, Task::kGenerate, R"({"stream_idle_timeout_s": 0.3})"));
  ASSERT_NE(model, nullptr);
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  std::string seen;
  const auto start = Clock::now();
  auto r = model->Generate(request, [&](std::string_view p) { seen += p; return true; },
                           CallContext::WithTimeout(30s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_NE(r.error().message().find("timed out reading the answer"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(seen, "Hel");
  EXPECT_LT(Clock::now() - start, 15s);  // by the idle timeout, not the end of the 20 s pause
  EXPECT_EQ(server.requests().size(), 1u);  // output was sent: never retried
}

TEST(UpstreamFaultsTest, AStreamStreamsTheExactSseAndReadsUsage) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Sse(
        {"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
         ": keep-alive\n\n",
         "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n",
         "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":\"length\"}]}\n\n",
         "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n",
         "data: [DONE]\n\n"});
    reply.chunk_delay = 5ms;
    return reply;
  });
  auto model = std::dynamic_pointer_cast<GeneratorModel>(LoadFrom(server, Task::kGenerate));
  GenerateRequest request;
  request.messages = {{"system", "be brief"}, {"user", "hi"}};
  request.sampling.temperature = 0.5f;
  request.sampling.seed = 3;
  request.max_tokens = 2;
  request.stop = {"\n"};
  std::vector<std::string> pieces;
  auto r = model->Generate(request, [&](std::string_view p) { pieces.emplace_back(p); return true; },
                           CallContext::WithTimeout(5s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(pieces, (std::vector<std::string>{"Hi", " there"}));
  EXPECT_EQ(r->text, "Hi there");
  EXPECT_EQ(r->finish_reason, FinishReason::kLength);
  EXPECT_EQ(r->prompt_tokens, 5);
  EXPECT_EQ(r->completion_tokens, 2);
  const Json body = Json::parse(server.requests().at(0).body);
  EXPECT_EQ(server.requests()[0].target, "/v1/chat/completions");
  Json expected = Json::parse(R"({"model":"m1","messages":[{"role":"system","content":"be brief"},
      {"role":"user","content":"hi"}],"temperature":0.5,"seed":3,
      "max_tokens":2,"stop":["\n"],"stream":true,"stream_options":{"include_usage":true}})");
  expected["top_p"] = request.sampling.top_p;  // the float, as sent
  EXPECT_EQ(body, expected);
}

TEST(UpstreamFaultsTest, TheBreakerOpensAfterRepeatedFailuresAndRecovers) {
  std::atomic<bool> healthy{false};
  UpstreamServer server([&](const UpstreamRequestSeen&) {
    if (healthy) return UpstreamReply::Json(200, kEmbedding);
    return UpstreamReply::Json(503, R"({"error":{"message":"down"}})");
  });
  auto model = LoadFrom(server, Task::kEmbed,
                        R"({"max_retries": 0, "breaker_failures": 3, "breaker_cool_down_s": 0.3})");
  for (int i = 0; i < 3; ++i) {
    auto r = EmbedOnce(model);
    EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  }
  auto refused = EmbedOnce(model);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("circuit open"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(server.requests().size(), 3u);  // the open breaker sent nothing
  EXPECT_NE(model->Health().code(), StatusCode::kOk);
  healthy = true;
  std::this_thread::sleep_for(400ms);
  auto probe = EmbedOnce(model);
  ASSERT_TRUE(probe.ok()) << probe.error().ToString();
  EXPECT_TRUE(model->Health().ok());
}

TEST(UpstreamFaultsTest, BadConfigIsOneClearErrorNamingTheKey) {
  auto unknown = CreateProvider({.id = "x", .type = "opnai"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("unknown provider type 'opnai'"), std::string::npos);

  unsetenv("MODELRT_TEST_NO_SUCH_KEY");
  auto missing = CreateProvider({.id = "x", .type = "openai", .api_key_env = "MODELRT_TEST_NO_SUCH_KEY"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("api_key_env: variable MODELRT_TEST_NO_SUCH_KEY is not set"),
            std::string::npos)
      << missing.error().message();

  auto bad_url = CreateProvider({.id = "x", .type = "openai", .base_url = "ftp://host/v1"});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.error().message().find("base_url"), std::string::npos);

  auto bad_option = CreateProvider(
      {.id = "x", .type = "openai", .options = *Options::Parse(R"({"timeout": 5})")});
  ASSERT_FALSE(bad_option.ok());
  EXPECT_NE(bad_option.error().message().find("timeout"), std::string::npos);
}

}  // namespace
}  // namespace modelrt
