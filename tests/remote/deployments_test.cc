// Deployments: one alias in front of several upstreams (each a real HTTP server on loopback that
// speaks OpenAI's API). Calls go to the one with the fewest in flight for its weight, skip one
// whose breaker is open, move on when one fails retryably, and a stream moves on only before
// its first piece. Config and registry errors name the deployment.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "modelrt/runtime.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

const char* kEmbedding = R"({"data":[{"index":0,"embedding":[1.0,0.0]}],"usage":{"prompt_tokens":1}})";

UpstreamReply SlowEmbedding() {
  UpstreamReply reply = UpstreamReply::Json(200, kEmbedding);
  reply.head_delay = 400ms;  // long enough that every call of a burst is in flight at once
  return reply;
}

std::string Providers(const UpstreamServer& a, const UpstreamServer& b,
                      const std::string& options = "probe: false") {
  return "providers:\n"
         "  - { id: east, type: openai, base_url: \"" + a.url() + "/v1\", options: { " + options +
         " } }\n"
         "  - { id: west, type: openai, base_url: \"" + b.url() + "/v1\", options: { " + options +
         " } }\n";
}

std::unique_ptr<ModelRuntime> Runtime(const std::string& yaml) {
  auto config = ParseConfig(yaml, "deployments.yaml");
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  if (!config.ok()) return nullptr;
  auto runtime = ModelRuntime::Builder().SetConfig(*config).Build();
  EXPECT_TRUE(runtime.ok()) << runtime.error().ToString();
  return runtime.ok() ? std::move(*runtime) : nullptr;
}

// `calls` embeddings at once, each waited for by a thread of its own.
void Burst(const EmbeddingHandle& handle, int calls) {
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&] {
      auto r = handle.Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(20s));
      EXPECT_TRUE(r.ok()) << r.error().ToString();
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(DeploymentsTest, CallsGoToTheDeploymentWithTheFewestInFlightForItsWeight) {
  UpstreamServer east([](const UpstreamRequestSeen&) { return SlowEmbedding(); });
  UpstreamServer west([](const UpstreamRequestSeen&) { return SlowEmbedding(); });
  auto runtime = Runtime(Providers(east, west) +
                         "models:\n"
                         "  - alias: emb\n"
                         "    task: embed\n"
                         "    deployments:\n"
                         "      - { provider: east, model: e-3, weight: 3 }\n"
                         "      - { provider: west, model: e-3-west }\n");
  ASSERT_NE(runtime, nullptr);
  auto handle = runtime->Embedding("emb");
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(handle->Load().ok());
  Burst(*handle, 8);
  // 3:1 of 8 calls in flight together. The calls start one by one, so each sees those before it
  // in flight and the split is exact.
  EXPECT_EQ(east.requests().size(), 6u);
  EXPECT_EQ(west.requests().size(), 2u);
  EXPECT_NE(west.requests().at(0).body.find("\"e-3-west\""), std::string::npos);

  // One at a time, nothing is in flight: the calls still split by weight, never all on one.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(handle->Embed({.inputs = {{.text = "y"}}}, CallContext::WithTimeout(20s)).ok());
  }
  EXPECT_GT(west.requests().size(), 2u);
  EXPECT_GT(east.requests().size(), 6u);

  auto described = runtime->Describe("emb");
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->spec.deployments.size(), 2u);
  EXPECT_EQ(described->spec.provider, "east");  // the first deployment's
  EXPECT_EQ(described->spec.deployments[0].weight, 3);
}

TEST(DeploymentsTest, AFailingDeploymentIsLeftForTheNextAndSkippedOnceItsBreakerOpens) {
  UpstreamServer east([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(503, R"({"error":{"message":"region down"}})");
  });
  UpstreamServer west([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, kEmbedding); });
  auto runtime =
      Runtime(Providers(east, west,
                        "probe: false, max_retries: 0, breaker_failures: 2, breaker_cool_down_s: 60") +
              "models:\n"
              "  - alias: emb\n"
              "    task: embed\n"
              "    deployments: [{ provider: east, model: m }, { provider: west, model: m }]\n");
  ASSERT_NE(runtime, nullptr);
  auto handle = runtime->Embedding("emb");
  ASSERT_TRUE(handle.ok());
  for (int i = 0; i < 6; ++i) {
    auto r = handle->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(10s));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->served_by, "emb");
  }
  std::promise<Result<EmbedResult>> done;
  handle->EmbedAsync({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(10s),
                     [&](Result<EmbedResult> r) { done.set_value(std::move(r)); });
  auto async = done.get_future().get();
  ASSERT_TRUE(async.ok()) << async.error().ToString();
  // East failed until its breaker opened after 2 failures; from then on it is not asked.
  EXPECT_EQ(east.requests().size(), 2u);
  EXPECT_EQ(west.requests().size(), 7u);
}

TEST(DeploymentsTest, AStreamMovesOnOnlyBeforeItsFirstPiece) {
  std::atomic<bool> speak_first{false};
  UpstreamServer east([&](const UpstreamRequestSeen&) {
    if (!speak_first) return UpstreamReply::Json(502, R"({"error":{"message":"bad gateway"}})");
    UpstreamReply reply = UpstreamReply::Sse(
        {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n", "x"});
    reply.fault = UpstreamReply::Fault::kCloseMidBody;
    return reply;
  });
  UpstreamServer west([](const UpstreamRequestSeen&) {
    return UpstreamReply::Sse({"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n",
                               "data: [DONE]\n\n"});
  });
  auto runtime = Runtime(Providers(east, west, "probe: false, max_retries: 0, breaker_failures: 0") +
                         "models:\n"
                         "  - alias: chat\n"
                         "    task: generate\n"
                         "    deployments: [{ provider: east, model: m, weight: 1000 },"
                         " { provider: west, model: m }]\n");
  ASSERT_NE(runtime, nullptr);
  auto handle = runtime->Generator("chat");
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
    EXPECT_EQ(pieces, "ok");  // east (the heavier, so asked first) failed before speaking
  }
  speak_first = true;
  std::string pieces;
  auto r = handle->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                            CallContext::WithTimeout(10s));
  ASSERT_FALSE(r.ok());  // east spoke, then broke: the client has "Hel", so no second answer
  EXPECT_EQ(pieces, "Hel");
  EXPECT_EQ(west.requests().size(), 2u);
}

TEST(DeploymentsTest, AnUnreachableDeploymentIsLeftOutAtLoad) {
  UpstreamServer west([](const UpstreamRequestSeen& r) {
    if (r.method == "GET") return UpstreamReply::Json(200, R"({"object":"list","data":[]})");
    return UpstreamReply::Json(200, kEmbedding);
  });
  const std::string yaml =
      "providers:\n"
      "  - { id: east, type: openai, base_url: \"http://127.0.0.1:9/v1\","
      " options: { max_retries: 0, connect_timeout_s: 2 } }\n"
      "  - { id: west, type: openai, base_url: \"" + west.url() + "/v1\" }\n"
      "models:\n"
      "  - alias: emb\n"
      "    task: embed\n"
      "    deployments: [{ provider: east, model: m }, { provider: west, model: m }]\n";
  auto runtime = Runtime(yaml);
  ASSERT_NE(runtime, nullptr);
  auto handle = runtime->Embedding("emb");
  ASSERT_TRUE(handle.ok());
  auto info = handle->Load();
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_NE(info->description.find("deployments west/m"), std::string::npos)
      << info->description;
  ASSERT_TRUE(handle->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(10s)).ok());
}

TEST(DeploymentsTest, BadDeploymentsAreOneClearError) {
  auto parse = [](const std::string& models) {
    return ParseConfig(
        "providers:\n"
        "  - { id: east, type: openai, base_url: \"http://127.0.0.1:9/v1\", options: { probe: false } }\n"
        "models:\n" + models,
        "bad.yaml");
  };
  auto both = parse("  - { alias: a, task: embed, provider: east, model: m,"
                    " deployments: [{ provider: east, model: m }] }\n");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message().find("give provider and model, or deployments"),
            std::string::npos)
      << both.error().message();
  auto weight = parse("  - { alias: a, task: embed, deployments: [{ provider: east, model: m, weight: 0 }] }\n");
  ASSERT_FALSE(weight.ok());
  EXPECT_NE(weight.error().message().find("models[0].deployments[0].weight"), std::string::npos)
      << weight.error().message();
  auto twice = parse("  - { alias: a, task: embed, deployments: [{ provider: east, model: m },"
                     " { provider: east, model: m }] }\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message().find("listed twice"), std::string::npos);
  auto empty = parse("  - { alias: a, task: embed, deployments: [] }\n");
  ASSERT_FALSE(empty.ok());

  auto unknown = parse("  - { alias: a, task: embed, deployments: [{ provider: east, model: m },"
                       " { provider: nowhere, model: m }] }\n");
  ASSERT_TRUE(unknown.ok()) << unknown.error().ToString();
  auto runtime = ModelRuntime::Builder().SetConfig(*unknown).Build();
  ASSERT_FALSE(runtime.ok());
  EXPECT_NE(runtime.error().message().find("deployments[1]: unknown provider 'nowhere'"),
            std::string::npos)
      << runtime.error().message();
}

}  // namespace
}  // namespace modelrt
