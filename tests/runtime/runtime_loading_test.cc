// ModelRuntime loading on the real llama provider: single flight under contention, load
// failures and timeouts (faults injected by the FaultInjectingProvider test double), warmup
// policies, Unload and reload, shutdown with a load in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string_view>
#include <thread>
#include <vector>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

TEST(RuntimeLoadingTest, ThirtyTwoThreadsShareOneLoad) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(200ms);  // keeps the load open while every thread piles in
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());

  constexpr int kThreads = 32;
  std::latch go(kThreads);
  std::atomic<int> loaded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      auto info = handle->Load();
      if (info.ok() && info->context_length > 0) loaded.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(provider->load_calls(), 1);
  EXPECT_EQ(loaded.load(), kThreads);
  EXPECT_EQ(provider->loaded_models().size(), 1u);
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  auto status = runtime->Describe("chat");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, ModelState::kLoaded);
  EXPECT_EQ(status->generation, 1u);
}

TEST(RuntimeLoadingTest, ConcurrentCallsOnAColdAliasLoadOnce) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(100ms);
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  constexpr int kThreads = 8;
  std::latch go(kThreads);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      auto r = handle->Generate(ShortRequest(4));
      if (r.ok() && r->completion_tokens > 0) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(provider->load_calls(), 1);
}

TEST(RuntimeLoadingTest, FailedLoadEmptiesTheMapAndDoesNotPoison) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  provider->FailNextLoads(1, UnavailableError("injected load failure"));

  Status first = runtime->lifecycle().Prefetch({"chat"});
  EXPECT_EQ(first.code(), StatusCode::kUnavailable) << first.ToString();
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  auto status = runtime->Describe("chat");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, ModelState::kFailed);
  EXPECT_NE(status->last_error.find("injected load failure"), std::string::npos);

  Status second = runtime->lifecycle().Prefetch({"chat"});
  EXPECT_TRUE(second.ok()) << second.ToString();
  EXPECT_EQ(provider->load_calls(), 2);
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kLoaded);
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_loads_total",
                         {{"alias", "chat"}, {"outcome", "failure"}}),
            1);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_loads_total",
                         {{"alias", "chat"}, {"outcome", "success"}}),
            1);
}

TEST(RuntimeLoadingTest, RealLoadFailureOfAMissingFile) {
  auto provider = MakeLlama();
  ModelSpec spec = ChatSpec();
  spec.model = MODELRT_SOURCE_DIR "/models/no-such-model.gguf";
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  auto r = handle->Generate(ShortRequest());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kFailed);
}

TEST(RuntimeLoadingTest, LoadTimeoutIsDeadlineExceededAndEmptiesTheMap) {
  auto provider = MakeFaultyLlama();
  ModelSpec spec = ChatSpec();
  // Long enough that the real reload below fits on a loaded 2-core CI machine; one thread
  // because ggml's spin barriers stall for a scheduler slice each when cores are oversubscribed.
  spec.load_timeout = 1500ms;
  spec.options = MakeOptions({{"threads", 1}});
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  provider->SetHangUntilDeadline(true);

  Status s = runtime->lifecycle().Prefetch({"chat"});
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kFailed);

  // Not poisoned: the next call starts a fresh load (which this time fails fast, so the test
  // does not depend on how quickly a real load fits in 200 ms).
  provider->SetHangUntilDeadline(false);
  provider->FailNextLoads(1, UnavailableError("injected: second attempt"));
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  auto r = handle->Generate(ShortRequest(4));
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable) << r.error().ToString();
  EXPECT_EQ(provider->load_calls(), 2);
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_loads_total",
                         {{"alias", "chat"}, {"outcome", "timeout"}}),
            1);
}

TEST(RuntimeLoadingTest, LateLoadResultIsDiscardedAndFreed) {
  auto provider = MakeFaultyLlama();
  ModelSpec spec = ChatSpec();
  spec.load_timeout = 150ms;
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  // The real load succeeds, then the double holds the model past the deadline.
  provider->SetLoadDelay(0ms, 600ms);

  Status s = runtime->lifecycle().Prefetch({"chat"});
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);

  // The late model arrives and nobody keeps it.
  ASSERT_TRUE(WaitFor([&] { return provider->loaded_models().size() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return provider->loaded_models()[0].expired(); }));
  auto status = runtime->Describe("chat");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, ModelState::kFailed);
  EXPECT_EQ(status->generation, 0u);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_model_loads_total",
                         {{"alias", "chat"}, {"outcome", "timeout"}}),
            1);
}

TEST(RuntimeLoadingTest, CallerDeadlineShorterThanTheLoadStopsOnlyThatCaller) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(300ms);
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  auto r = handle->Generate(ShortRequest(), {}, CallContext::WithTimeout(20ms));
  EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded);
  // The load goes on and a patient caller gets it without a second load.
  auto info = handle->Load();
  EXPECT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(provider->load_calls(), 1);
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
}

TEST(RuntimeLoadingTest, UnloadThenCallReloads) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(handle->Generate(ShortRequest(4)).ok());
  EXPECT_EQ(runtime->Describe("chat")->generation, 1u);

  ASSERT_TRUE(runtime->lifecycle().Unload("chat").ok());
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kUnloaded);
  EXPECT_TRUE(WaitFor([&] { return provider->loaded_models()[0].expired(); }));

  auto r = handle->Generate(ShortRequest(4));
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  auto status = runtime->Describe("chat");
  EXPECT_EQ(status->state, ModelState::kLoaded);
  EXPECT_EQ(status->generation, 2u);
  EXPECT_EQ(provider->load_calls(), 2);
  EXPECT_EQ(runtime->lifecycle().Unload("nope").code(), StatusCode::kNotFound);
}

TEST(RuntimeLoadingTest, UnloadLetsInFlightCallsFinish) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Prefetch({"chat"}).ok());
  auto handle = runtime->Generator("chat");
  ASSERT_TRUE(handle.ok());

  std::atomic<bool> in_piece{false}, release{false};
  Result<GenerateResult> result = InternalError("not run");
  std::thread caller([&] {
    result = handle->Generate(ShortRequest(16), [&](std::string_view) {
      if (!in_piece.exchange(true)) WaitFor([&] { return release.load(); });
      return true;
    });
  });
  if (!WaitFor([&] { return in_piece.load(); })) {
    release.store(true);
    caller.join();
    FAIL() << "no piece was generated: " << result.error().ToString();
  }
  auto during = runtime->Describe("chat");
  EXPECT_EQ(during->in_flight, 1);
  ASSERT_TRUE(runtime->lifecycle().Unload("chat").ok());
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kDraining);
  EXPECT_FALSE(provider->loaded_models()[0].expired());  // the call still holds it
  release.store(true);
  caller.join();
  EXPECT_TRUE(result.ok()) << result.error().ToString();
  auto after = runtime->Describe("chat");
  EXPECT_EQ(after->state, ModelState::kUnloaded);
  EXPECT_EQ(after->in_flight, 0);
  EXPECT_TRUE(after->last_used.has_value());
  EXPECT_TRUE(provider->loaded_models()[0].expired());
}

TEST(RuntimeLoadingTest, BackgroundWarmupFinishes) {
  auto provider = MakeFaultyLlama();
  provider->SetLoadDelay(100ms);
  ModelSpec spec = ChatSpec();
  spec.warmup = WarmupPolicy::kBackground;
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  runtime->WaitForBackgroundWarmup();
  auto status = runtime->Describe("chat");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, ModelState::kLoaded);
  EXPECT_EQ(status->generation, 1u);
  EXPECT_GT(status->info.context_length, 0);
  EXPECT_EQ(provider->load_calls(), 1);
}

TEST(RuntimeLoadingTest, DestructorJoinsAHungBackgroundLoad) {
  auto provider = MakeFaultyLlama();
  provider->SetHangUntilDeadline(true);
  ModelSpec spec = ChatSpec();
  spec.warmup = WarmupPolicy::kBackground;
  spec.load_timeout = 10min;  // only the runtime's shutdown can end it early
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(WaitFor([&] { return provider->load_calls() == 1; }));
  EXPECT_EQ(runtime->LoadsInFlight(), 1u);
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kLoading);
  runtime.reset();  // cancels the load and joins its threads; hangs (test timeout) if not
  EXPECT_EQ(provider.use_count(), 1);  // no thread still holds the provider
}

TEST(RuntimeLoadingTest, EagerProviderWarmupRunsAtBuild) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  EXPECT_EQ(provider->warmup_calls(), 1);
  ASSERT_TRUE(runtime->lifecycle().Prefetch({"chat"}).ok());
  EXPECT_EQ(provider->warmup_calls(), 1);
}

TEST(RuntimeLoadingTest, LazyProviderWarmupRunsBeforeTheFirstLoad) {
  auto provider = MakeFaultyLlama();
  auto runtime = ModelRuntime::Builder()
                     .AddProvider(provider)
                     .AddModel(ChatSpec())
                     .SetProviderWarmup(ProviderWarmup::kLazy)
                     .Build();
  ASSERT_TRUE(runtime.ok());
  EXPECT_EQ(provider->warmup_calls(), 0);
  ASSERT_TRUE((*runtime)->lifecycle().PrefetchAll().ok());
  EXPECT_EQ(provider->warmup_calls(), 1);
}

}  // namespace
}  // namespace modelrt::runtime_test
