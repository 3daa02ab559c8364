// Handle calls on the real llama provider: per-call timeouts, retries (faults injected by the
// FaultInjectingProvider test double), capability checks and metrics.
#include <gtest/gtest.h>

#include <string>

#include "modelrt/lifecycle.h"
#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

ModelSpec RetryingChat(int max_attempts) {
  ModelSpec spec = ChatSpec();
  spec.retry.max_attempts = max_attempts;
  spec.retry.initial_backoff = 1ms;
  spec.retry.max_backoff = 4ms;
  return spec;
}

TEST(RuntimeCallsTest, GeneratesThroughTheHandle) {
  auto runtime = BuildRuntime(MakeLlama(), {ChatSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(handle->alias(), "chat");
  EXPECT_EQ(handle->spec().model, StoriesPath());
  std::string streamed;
  auto r = handle->Generate(ShortRequest(8), [&](std::string_view piece) {
    streamed += piece;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_GT(r->completion_tokens, 0);
  EXPECT_EQ(streamed, r->text);
  auto status = runtime->Describe("chat");
  EXPECT_EQ(status->in_flight, 0);
  EXPECT_TRUE(status->last_used.has_value());
  EXPECT_GT(status->info.memory_bytes, 0);
}

TEST(RuntimeCallsTest, EmbedsThroughTheHandle) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  EmbedRequest request;
  request.inputs = {{.text = "hello world"}, {.text = "a second input"}};
  auto r = handle->Embed(request);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->embeddings.size(), 2u);
  EXPECT_EQ(static_cast<int>(r->embeddings[0].size()), runtime->Describe("embed")->info.dimensions);
  EXPECT_NE(r->embeddings[0], r->embeddings[1]);
}

TEST(RuntimeCallsTest, PerCallTimeoutIsDeadlineExceeded) {
  ModelSpec spec = ChatSpec();
  spec.timeout = 1ms;
  auto runtime = BuildRuntime(MakeLlama(), {spec});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(
      runtime->lifecycle().Prefetch({"chat"}).ok());  // the timeout is for the call, not the load
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  auto r = handle->Generate(ShortRequest(/*max_tokens=*/0));  // until the context is full
  EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_errors_total",
                         {{"alias", "chat"}, {"task", "generate"}, {"code", "DeadlineExceeded"}}),
            1);
}

TEST(RuntimeCallsTest, CallersEarlierDeadlineWins) {
  ModelSpec spec = ChatSpec();
  spec.timeout = 10min;
  auto runtime = BuildRuntime(MakeLlama(), {spec});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Prefetch({"chat"}).ok());
  auto handle = runtime->Generator("chat");
  CallContext ctx;
  ctx.deadline = Clock::now();  // already spent
  auto r = handle->Generate(ShortRequest(), {}, ctx);
  EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded);
}

TEST(RuntimeCallsTest, RetriesUnavailableUntilSuccess) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {RetryingChat(3)});
  ASSERT_TRUE(runtime);
  provider->FailNextCalls(2, UnavailableError("injected: engine restarting"));
  auto handle = runtime->Generator("chat");
  auto r = handle->Generate(ShortRequest(4));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(provider->model_calls(), 3);  // 2 injected failures + the real call
  EXPECT_EQ(provider->load_calls(), 1);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_retries_total", {{"alias", "chat"}}), 2);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_calls_total",
                         {{"alias", "chat"}, {"task", "generate"}}),
            1);
}

TEST(RuntimeCallsTest, InvalidArgumentIsNotRetried) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {RetryingChat(3)});
  ASSERT_TRUE(runtime);
  provider->FailNextCalls(1, InvalidArgumentError("injected: bad request"));
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(provider->model_calls(), 1);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_retries_total", {{"alias", "chat"}}), 0);
}

TEST(RuntimeCallsTest, ExhaustedAttemptsReturnTheError) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {RetryingChat(3)});
  ASSERT_TRUE(runtime);
  provider->FailNextCalls(10, UnavailableError("injected: still down"));
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(provider->model_calls(), 3);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_retries_total", {{"alias", "chat"}}), 2);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_errors_total",
                         {{"alias", "chat"}, {"task", "generate"}, {"code", "Unavailable"}}),
            1);
}

TEST(RuntimeCallsTest, NoRetryOnceTextWasStreamed) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {RetryingChat(3)});
  ASSERT_TRUE(runtime);
  provider->FailNextGenerationsAfterStreaming(1, UnavailableError("injected: dropped mid-stream"));
  int pieces = 0;
  auto r = runtime->Generator("chat")->Generate(ShortRequest(8), [&](std::string_view) {
    ++pieces;
    return true;
  });
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_GT(pieces, 0);
  EXPECT_EQ(provider->model_calls(), 1);
}

TEST(RuntimeCallsTest, RetriesWithoutACallbackEvenAfterGeneration) {
  // Without a callback nothing reached the caller, so the same fault is retried.
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {RetryingChat(3)});
  ASSERT_TRUE(runtime);
  provider->FailNextGenerationsAfterStreaming(1, UnavailableError("injected"));
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4));
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(provider->model_calls(), 2);
}

TEST(RuntimeCallsTest, RetryNeverSleepsPastTheDeadline) {
  auto provider = MakeFaultyLlama();
  ModelSpec spec = ChatSpec();
  spec.retry = {.max_attempts = 5, .initial_backoff = 10min, .max_backoff = 10min};
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Prefetch({"chat"}).ok());
  provider->FailNextCalls(10, UnavailableError("injected"));
  // A jittered 0..10 min backoff cannot fit in 2 s (bar a draw under 2 s, which is then
  // retried and fails again): the call gives up instead of sleeping past its deadline.
  const auto start = Clock::now();
  auto r = runtime->Generator("chat")->Generate(ShortRequest(4), {}, CallContext::WithTimeout(2s));
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);  // the last error, not a sleep
  EXPECT_LT(provider->model_calls(), 5);
  EXPECT_LT(Clock::now() - start, 1min);  // a hang bound: a 10 min sleep would blow it
}

TEST(RuntimeCallsTest, CapabilityMismatchNamesAliasAndTasks) {
  auto runtime = BuildRuntime(MakeLlama(), {ChatSpec("a-generator")});
  ASSERT_TRUE(runtime);
  auto embed = runtime->Embedding("a-generator");
  ASSERT_FALSE(embed.ok());
  EXPECT_EQ(embed.error().code(), StatusCode::kCapabilityMismatch);
  const std::string message = embed.error().message();
  EXPECT_NE(message.find("a-generator"), std::string::npos) << message;
  EXPECT_NE(message.find("generate"), std::string::npos) << message;
  EXPECT_NE(message.find("embed"), std::string::npos) << message;
  EXPECT_EQ(runtime->Reranker("a-generator").error().code(), StatusCode::kCapabilityMismatch);
  EXPECT_TRUE(runtime->Generator("a-generator").ok());
  EXPECT_EQ(runtime->Generator("missing").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime->Embedding("missing").error().code(), StatusCode::kNotFound);
}

TEST(RuntimeCallsTest, MetricsMove) {
  auto shared = std::make_shared<MetricsRegistry>();
  auto runtime = ModelRuntime::Builder()
                     .AddProvider(MakeLlama())
                     .AddModel(ChatSpec())
                     .SetMetrics(shared)
                     .Build();
  ASSERT_TRUE(runtime.ok());
  EXPECT_EQ(&(*runtime)->metrics(), shared.get());
  auto handle = (*runtime)->Generator("chat");
  ASSERT_TRUE(handle->Generate(ShortRequest(4)).ok());
  ASSERT_TRUE(handle->Generate(ShortRequest(4)).ok());
  const Labels call = {{"alias", "chat"}, {"task", "generate"}};
  EXPECT_EQ(shared->GetCounter("modelrt_model_calls_total", "", call).Value(), 2);
  EXPECT_EQ(shared->GetHistogram("modelrt_model_call_seconds", "", call).Count(), 2u);
  EXPECT_EQ(
      shared
          ->GetCounter("modelrt_model_loads_total", "", {{"alias", "chat"}, {"outcome", "success"}})
          .Value(),
      1);
  EXPECT_EQ(shared->GetHistogram("modelrt_model_load_seconds", "", {{"alias", "chat"}}).Count(),
            1u);
  const std::string text = shared->RenderPrometheus();
  EXPECT_NE(text.find("modelrt_model_calls_total"), std::string::npos);
  EXPECT_NE(text.find("modelrt_model_load_seconds"), std::string::npos);
}

}  // namespace
}  // namespace modelrt::runtime_test
