// The handles' asynchronous calls (EmbedAsync, RerankAsync) on the real llama provider: the same
// answers as the blocking calls, `done` exactly once, a cold model waited for off the caller's
// thread, bad requests refused before anything loads, and a runtime destroyed under queued calls.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "modelrt/lifecycle.h"
#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

EmbedRequest TwoInputs() {
  EmbedRequest request;
  request.inputs = {{.text = "hello world"}, {.text = "a second input"}};
  return request;
}

TEST(AsyncCallsTest, EmbedAsyncAnswersAsEmbedOnceFromAnotherThread) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  Result<EmbedResult> blocking = handle->Embed(TwoInputs());
  ASSERT_TRUE(blocking.ok()) << blocking.error().ToString();

  std::promise<Result<EmbedResult>> answered;
  std::atomic<int> calls{0};
  std::thread::id answered_on;
  handle->EmbedAsync(TwoInputs(), {}, [&](Result<EmbedResult> result) {
    answered_on = std::this_thread::get_id();
    if (calls.fetch_add(1) == 0) answered.set_value(std::move(result));
  });
  Result<EmbedResult> async = answered.get_future().get();
  ASSERT_TRUE(async.ok()) << async.error().ToString();
  EXPECT_EQ(async->embeddings, blocking->embeddings);
  EXPECT_EQ(async->prompt_tokens, blocking->prompt_tokens);
  EXPECT_EQ(async->generation, 1u);
  EXPECT_NE(answered_on, std::this_thread::get_id()) << "the batch worker's thread answers";
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(runtime->Describe("embed")->in_flight, 0) << "checked in before the answer";
}

TEST(AsyncCallsTest, AColdModelIsWaitedForOffTheCallersThread) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(200ms);
  auto runtime = BuildRuntime(provider, {EmbedSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  std::atomic<bool> returned{false};
  std::promise<bool> returned_first;
  handle->EmbedAsync(TwoInputs(), {}, [&](Result<EmbedResult> result) {
    EXPECT_TRUE(result.ok()) << result.error().ToString();
    returned_first.set_value(returned.load());
  });
  returned.store(true);
  // A caller that waited for the 200 ms load would have been answered before it returned.
  EXPECT_TRUE(returned_first.get_future().get());
  EXPECT_EQ(provider->load_calls(), 1);
  EXPECT_EQ(runtime->Describe("embed")->state, ModelState::kLoaded);
}

TEST(AsyncCallsTest, RerankAsyncRanksAsRerank) {
  auto runtime = BuildRuntime(MakeLlama(), {RerankSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Reranker("rerank");
  ASSERT_TRUE(handle.ok());
  RerankRequest request;
  request.query = "what is a llama";
  request.documents = {"a llama is an animal", "the weather is fine", "llamas live in the Andes"};
  request.top_n = 2;
  request.return_documents = true;
  Result<RerankResult> blocking = handle->Rerank(request);
  ASSERT_TRUE(blocking.ok()) << blocking.error().ToString();

  std::promise<Result<RerankResult>> answered;
  handle->RerankAsync(request, {},
                      [&](Result<RerankResult> r) { answered.set_value(std::move(r)); });
  Result<RerankResult> async = answered.get_future().get();
  ASSERT_TRUE(async.ok()) << async.error().ToString();
  EXPECT_EQ(async->scores, blocking->scores);
  ASSERT_EQ(async->ranked.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(async->ranked[i].index, blocking->ranked[i].index);
    EXPECT_EQ(async->ranked[i].document, request.documents[async->ranked[i].index]);
  }
}

TEST(AsyncCallsTest, BadRequestsAreRefusedBeforeAnythingLoads) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {EmbedSpec(), RerankSpec()});
  ASSERT_TRUE(runtime);
  EmbedRequest bad = TwoInputs();
  bad.dimensions = 0;
  Status embed_status;
  runtime->Embedding("embed")->EmbedAsync(
      bad, {}, [&](Result<EmbedResult> r) { embed_status = r.status(); });
  EXPECT_EQ(embed_status.code(), StatusCode::kInvalidArgument);  // answered here, at once
  RerankRequest no_top;
  no_top.query = "q";
  no_top.documents = {"d"};
  no_top.top_n = 0;
  Status rerank_status;
  runtime->Reranker("rerank")->RerankAsync(
      no_top, {}, [&](Result<RerankResult> r) { rerank_status = r.status(); });
  EXPECT_EQ(rerank_status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(provider->load_calls(), 0);
}

TEST(AsyncCallsTest, CallsQueuedWhenTheRuntimeGoesAreEachAnsweredOnce) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("embed").ok());
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  constexpr int kCalls = 32;
  std::atomic<int> answers{0};
  for (int i = 0; i < kCalls; ++i) {
    handle->EmbedAsync(TwoInputs(), {}, [&](Result<EmbedResult> r) {
      // Served, or cut short by the shutdown: either way an answer, never two.
      EXPECT_TRUE(r.ok() || r.error().code() == StatusCode::kCancelled ||
                  r.error().code() == StatusCode::kUnavailable)
          << r.error().ToString();
      answers.fetch_add(1);
    });
  }
  runtime.reset();  // waits until every asynchronous call let go of its engine
  EXPECT_EQ(answers.load(), kCalls);
}

// An engine unloaded or replaced under its calls lives on in their leases, so one of them drops
// the last reference. Wherever that copy lives (the batch worker's request, the callback chain),
// the engine must not be destroyed on its own worker's thread (joining itself would abort the
// process): the calls are dropped on SerialQueue::AfterCalls.
TEST(AsyncCallsTest, AnEngineUnloadedOrReplacedUnderItsCallsIsFreedOffItsOwnThread) {
  auto runtime = BuildRuntime(MakeLlama(), {EmbedSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(runtime->lifecycle().Load("embed").ok());
    constexpr int kCalls = 16;
    std::atomic<int> answers{0}, served{0};
    std::promise<void> all;
    for (int i = 0; i < kCalls; ++i) {
      handle->EmbedAsync(TwoInputs(), {}, [&](Result<EmbedResult> r) {
        if (r.ok()) served.fetch_add(1);
        if (answers.fetch_add(1) + 1 == kCalls) all.set_value();
      });
    }
    // Odd rounds replace the engine (a reload), even ones drop it (an unload).
    if (round % 2) {
      ASSERT_TRUE(runtime->lifecycle().Reload("embed").ok());
    } else {
      ASSERT_TRUE(runtime->lifecycle().Unload("embed").ok());
    }
    all.get_future().get();
    EXPECT_EQ(served.load(), kCalls) << "round " << round << ": calls in flight finish on it";
    // The old engine goes once its calls let go of it.
    EXPECT_TRUE(WaitFor([&] { return runtime->Describe("embed")->in_flight == 0; }, 10s));
  }
}

// The real llama provider, counting the engines it loaded that are still alive (the shared
// pointer it hands out frees the real one, then counts down).
class EngineCountingProvider : public Provider {
 public:
  explicit EngineCountingProvider(std::shared_ptr<Provider> real) : real_(std::move(real)) {}
  const std::string& id() const override { return real_->id(); }
  std::string_view type() const override { return real_->type(); }
  Status Validate(const ModelSpec& spec) const override { return real_->Validate(spec); }
  LoadEstimate Estimate(const ModelSpec& spec) const override { return real_->Estimate(spec); }
  Result<std::shared_ptr<Model>> Load(const ModelSpec& spec, const CallContext& ctx) override {
    MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, real_->Load(spec, ctx));
    live_->fetch_add(1);
    Model* raw = model.get();
    return std::shared_ptr<Model>(raw, [model = std::move(model), live = live_](Model*) mutable {
      model.reset();
      live->fetch_sub(1);
    });
  }
  int live() const { return live_->load(); }

 private:
  std::shared_ptr<Provider> real_;
  std::shared_ptr<std::atomic<int>> live_ = std::make_shared<std::atomic<int>>(0);
};

// A handle (or an asynchronous call) may outlive its runtime and keep the runtime's internals
// alive. The engines must still go with the runtime, on the thread that destroys it: freed
// later, wherever that last reference is dropped (at process exit, on SerialQueue::AfterCalls),
// an engine's destructor would run after the process's loggers are gone (TSan:
// heap-use-after-free).
TEST(AsyncCallsTest, EnginesGoWithTheRuntimeEvenWhenAHandleOutlivesIt) {
  auto provider = std::make_shared<EngineCountingProvider>(MakeLlama());
  auto runtime = BuildRuntime(provider, {EmbedSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("embed").ok());
  auto handle = runtime->Embedding("embed");
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(handle->Embed(TwoInputs()).ok());
  EXPECT_EQ(provider->live(), 1);
  runtime.reset();
  EXPECT_EQ(provider->live(), 0) << "the engine outlived its runtime in the handle";
}

}  // namespace
}  // namespace modelrt::runtime_test
