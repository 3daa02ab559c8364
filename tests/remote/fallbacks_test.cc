// Fallbacks: an alias that fails retryably (its upstream down, its breaker open) is answered by
// the next alias of its `fallbacks`, and the answer says which alias served it; a stream falls
// back only before its first piece; a failure a fallback cannot help with (a bad request) does
// not fall back.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "modelrt/runtime.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

const char* kEmbedding = R"({"data":[{"index":0,"embedding":[1.0,0.0]}],"usage":{"prompt_tokens":1}})";

std::unique_ptr<ModelRuntime> Runtime(const UpstreamServer& bad, const UpstreamServer& good,
                                      const std::string& task) {
  const std::string yaml =
      "providers:\n"
      "  - { id: bad, type: openai, base_url: \"" + bad.url() + "/v1\","
      " options: { probe: false, max_retries: 0 } }\n"
      "  - { id: good, type: openai, base_url: \"" + good.url() + "/v1\", options: { probe: false } }\n"
      "models:\n"
      "  - { alias: primary, task: " + task + ", provider: bad, model: m, fallbacks: [other, secondary] }\n"
      "  - { alias: other, task: rerank, provider: good, model: m }\n"
      "  - { alias: secondary, task: " + task + ", provider: good, model: m }\n";
  auto config = ParseConfig(yaml, "fallbacks.yaml");
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  auto runtime = ModelRuntime::Builder().SetConfig(*config).Build();
  EXPECT_TRUE(runtime.ok()) << runtime.error().ToString();
  return runtime.ok() ? std::move(*runtime) : nullptr;
}

TEST(FallbacksTest, AnUnavailableAliasIsAnsweredByItsFallback) {
  UpstreamServer bad([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(503, R"({"error":{"message":"overloaded"}})");
  });
  UpstreamServer good([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, kEmbedding); });
  auto runtime = Runtime(bad, good, "embed");
  ASSERT_NE(runtime, nullptr);
  auto handle = runtime->Embedding("primary");
  ASSERT_TRUE(handle.ok());
  auto sync = handle->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(10s));
  ASSERT_TRUE(sync.ok()) << sync.error().ToString();
  EXPECT_EQ(sync->served_by, "secondary");  // "other" is a reranker: skipped
  std::promise<Result<EmbedResult>> done;
  handle->EmbedAsync({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(10s),
                     [&](Result<EmbedResult> r) { done.set_value(std::move(r)); });
  auto async = done.get_future().get();
  ASSERT_TRUE(async.ok()) << async.error().ToString();
  EXPECT_EQ(async->served_by, "secondary");
  EXPECT_EQ(bad.requests().size(), 2u);
  EXPECT_EQ(good.requests().size(), 2u);
}

TEST(FallbacksTest, ABadRequestDoesNotFallBack) {
  UpstreamServer bad([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(400, R"({"error":{"message":"input too long"}})");
  });
  UpstreamServer good([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, kEmbedding); });
  auto runtime = Runtime(bad, good, "embed");
  ASSERT_NE(runtime, nullptr);
  auto r = runtime->Embedding("primary")->Embed({.inputs = {{.text = "x"}}},
                                                 CallContext::WithTimeout(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(good.requests().empty());
}

TEST(FallbacksTest, AStreamFallsBackOnlyBeforeItsFirstPiece) {
  std::atomic<bool> speak_first{false};
  UpstreamServer bad([&](const UpstreamRequestSeen&) {
    if (!speak_first) return UpstreamReply::Json(503, R"({"error":{"message":"down"}})");
    UpstreamReply reply = UpstreamReply::Sse(
        {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n", "x"});
    reply.fault = UpstreamReply::Fault::kCloseMidBody;
    return reply;
  });
  UpstreamServer good([](const UpstreamRequestSeen&) {
    return UpstreamReply::Sse({"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n",
                               "data: [DONE]\n\n"});
  });
  auto runtime = Runtime(bad, good, "generate");
  ASSERT_NE(runtime, nullptr);
  auto handle = runtime->Generator("primary");
  ASSERT_TRUE(handle.ok());
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  for (const bool async : {false, true}) {
    std::string pieces;
    auto on_piece = [&](std::string_view p) { pieces += p; return true; };
    Result<GenerateResult> r = InternalError("not run");
    if (async) {
      std::promise<Result<GenerateResult>> done;
      handle->GenerateAsync(request, on_piece, CallContext::WithTimeout(10s),
                            [&](Result<GenerateResult> g) { done.set_value(std::move(g)); });
      r = done.get_future().get();
    } else {
      r = handle->Generate(request, on_piece, CallContext::WithTimeout(10s));
    }
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->served_by, "secondary");
    EXPECT_EQ(pieces, "ok");
  }
  speak_first = true;  // now the primary sends a piece, then breaks: no fallback after that
  std::string pieces;
  auto broken = handle->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                                 CallContext::WithTimeout(10s));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(pieces, "Hel");
}

}  // namespace
}  // namespace modelrt
