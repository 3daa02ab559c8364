// The pool behind ModelRuntime, on real llama engines: budget and LRU across aliases, a busy
// engine that a load must wait for (then Unavailable, or success once the call ends), health
// drops and reloads on next use (faults from the FaultInjectingProvider test double), keep-alive,
// pins, config plumbing, and memory really coming back after an unload (RSS).
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "pool_test_util.h"

namespace modelrt::pool_test {
namespace {

using runtime_test::BuildRuntime;
using runtime_test::ChatSpec;
using runtime_test::CounterValue;
using runtime_test::MakeFaultyLlama;
using runtime_test::MakeLlama;
using runtime_test::HeldGeneration;
using runtime_test::ShortRequest;
using runtime_test::StateOf;

// What one stories260K engine takes, as the engine reports it.
int64_t ChatBytes() {
  static const int64_t bytes = [] {
    auto model = MakeLlama()->Load(ChatSpec(), CallContext::WithTimeout(60s));
    EXPECT_TRUE(model.ok()) << model.error().ToString();
    return model.ok() ? (*model)->Info().memory_bytes : int64_t{0};
  }();
  return bytes;
}

std::unique_ptr<ModelRuntime> BuildWithPool(std::shared_ptr<Provider> provider,
                                            std::vector<ModelSpec> specs,
                                            EnginePool::Options options) {
  ModelRuntime::Builder builder;
  builder.AddProvider(std::move(provider)).SetPoolOptions(std::move(options));
  for (auto& spec : specs) builder.AddModel(std::move(spec));
  auto runtime = builder.Build();
  EXPECT_TRUE(runtime.ok()) << runtime.error().ToString();
  return runtime.ok() ? *std::move(runtime) : nullptr;
}

EnginePool::Options Budget(int64_t bytes) {
  EnginePool::Options options;
  options.memory_budget_bytes = bytes;
  return options;  // metrics: the runtime's
}


TEST(PoolRuntimeTest, LeastRecentlyUsedAliasIsEvictedToStayInBudget) {
  const int64_t size = ChatBytes();
  auto runtime = BuildWithPool(MakeLlama(), {ChatSpec("a"), ChatSpec("b"), ChatSpec("c")},
                               Budget(2 * size + size / 2));
  ASSERT_TRUE(runtime);
  for (const char* alias : {"a", "b", "a", "c"}) {
    auto r = runtime->Generator(alias)->Generate(ShortRequest(2));
    ASSERT_TRUE(r.ok()) << alias << ": " << r.error().ToString();
    PoolStats stats = runtime->PoolStatus();
    EXPECT_LE(stats.bytes_in_use + stats.bytes_reserved, stats.budget_bytes) << alias;
  }
  EXPECT_EQ(StateOf(*runtime, "a"), ModelState::kLoaded);
  EXPECT_EQ(StateOf(*runtime, "b"), ModelState::kUnloaded);  // least recently used
  EXPECT_EQ(StateOf(*runtime, "c"), ModelState::kLoaded);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_pool_evictions_total", {{"reason", "lru"}}), 1);
  EXPECT_EQ(CounterValue(*runtime, "modelrt_pool_hits_total", {}), 1);    // the second "a"
  EXPECT_EQ(CounterValue(*runtime, "modelrt_pool_misses_total", {}), 3);  // a, b, c cold
  // b comes back on its next call.
  auto r = runtime->Generator("b")->Generate(ShortRequest(2));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 2u);
}

TEST(PoolRuntimeTest, LoadBlockedByABusyEngineFailsUnavailableAtItsLoadTimeout) {
  const int64_t size = ChatBytes();
  ModelSpec other = ChatSpec("other");
  other.load_timeout = 300ms;
  auto runtime = BuildWithPool(MakeLlama(), {ChatSpec("busy"), other}, Budget(size + size / 2));
  ASSERT_TRUE(runtime);
  HeldGeneration held(*runtime->Generator("busy"));
  ASSERT_TRUE(held.Started());

  auto r = runtime->Generator("other")->Generate(ShortRequest(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message().find("no room"), std::string::npos) << r.error().ToString();
  EXPECT_EQ(runtime->LoadsInFlight(), 0u);
  auto status = runtime->Describe("other");
  EXPECT_EQ(status->state, ModelState::kFailed);
  EXPECT_NE(status->last_error.find("Unavailable"), std::string::npos) << status->last_error;
  EXPECT_EQ(StateOf(*runtime, "busy"), ModelState::kLoaded);

  Result<GenerateResult>& busy = held.Finish();
  ASSERT_TRUE(busy.ok()) << busy.error().ToString();  // never evicted under its call
  EXPECT_EQ(busy->generation, 1u);
  // Idle now: the next load of `other` evicts it. (Given a patient load timeout: the short one
  // above is for the wait, and a sanitizer build loads slower than that.)
  ASSERT_TRUE(runtime->lifecycle().Reload("other", ChatSpec("other")).ok());
  auto later = runtime->Generator("other")->Generate(ShortRequest(2));
  EXPECT_TRUE(later.ok()) << later.error().ToString();
  EXPECT_EQ(StateOf(*runtime, "busy"), ModelState::kUnloaded);
}

TEST(PoolRuntimeTest, LoadWaitsForTheBusyEngineThenSucceeds) {
  const int64_t size = ChatBytes();
  auto runtime =
      BuildWithPool(MakeLlama(), {ChatSpec("busy"), ChatSpec("other")}, Budget(size + size / 2));
  ASSERT_TRUE(runtime);
  HeldGeneration held(*runtime->Generator("busy"));
  ASSERT_TRUE(held.Started());
  Result<GenerateResult> other = InternalError("not run");
  std::thread caller([&] { other = runtime->Generator("other")->Generate(ShortRequest(2)); });
  ASSERT_TRUE(WaitFor([&] { return runtime->PoolStatus().loads_waiting == 1; }));
  EXPECT_EQ(StateOf(*runtime, "other"), ModelState::kLoading);
  ASSERT_TRUE(held.Finish().ok());
  caller.join();
  EXPECT_TRUE(other.ok()) << other.error().ToString();
  EXPECT_EQ(StateOf(*runtime, "busy"), ModelState::kUnloaded);
  EXPECT_EQ(StateOf(*runtime, "other"), ModelState::kLoaded);
}

TEST(PoolRuntimeTest, UnhealthyEngineIsDroppedAndReloadedOnNextUse) {
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {ChatSpec()});
  ASSERT_TRUE(runtime);
  auto handle = *runtime->Generator("chat");
  ASSERT_TRUE(handle.Generate(ShortRequest(2)).ok());
  provider->BreakLoadedModels(UnavailableError("injected: engine crashed"));

  auto r = handle.Generate(ShortRequest(2));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->generation, 2u);
  EXPECT_EQ(provider->load_calls(), 2);
  EXPECT_TRUE(provider->loaded_models()[0].expired());
  EXPECT_EQ(CounterValue(*runtime, "modelrt_pool_evictions_total", {{"reason", "health"}}), 1);
  EXPECT_EQ(runtime->Describe("chat")->generation, 2u);
}

TEST(PoolRuntimeTest, HealthTimerDropsADeadEngine) {
  auto provider = MakeFaultyLlama();
  EnginePool::Options options;
  options.health_check_interval = 20ms;
  options.maintenance_period = 10ms;
  auto runtime = BuildWithPool(provider, {ChatSpec()}, options);
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("chat").ok());
  provider->BreakLoadedModels(UnavailableError("injected: engine crashed"));
  EXPECT_TRUE(WaitFor([&] { return StateOf(*runtime, "chat") == ModelState::kUnloaded; }));
  EXPECT_EQ(runtime->PoolStatus().evictions["health"], 1u);
  EXPECT_TRUE(runtime->Generator("chat")->Generate(ShortRequest(2)).ok());
}

TEST(PoolRuntimeTest, KeepAliveZeroUnloadsAfterEachCall) {
  auto provider = MakeFaultyLlama();
  ModelSpec spec = ChatSpec();
  spec.keep_alive_s = 0;
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  auto handle = *runtime->Generator("chat");
  auto first = handle.Generate(ShortRequest(2));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(StateOf(*runtime, "chat"), ModelState::kUnloaded);
  EXPECT_TRUE(provider->loaded_models()[0].expired());
  auto second = handle.Generate(ShortRequest(2));
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->generation, 2u);
  EXPECT_EQ(provider->load_calls(), 2);
}

TEST(PoolRuntimeTest, KeepAliveAndTtlFromTheSpecOnARealClock) {
  ModelSpec short_lived = ChatSpec("short");
  short_lived.keep_alive_s = 1;
  ModelSpec forever = ChatSpec("forever");
  forever.keep_alive_s = -1;
  EnginePool::Options options;
  options.idle_ttl = 1ms;  // the pool's TTL: only aliases without a keep-alive follow it
  options.maintenance_period = 10ms;
  auto runtime = BuildWithPool(MakeLlama(), {short_lived, forever, ChatSpec("plain")}, options);
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().PrefetchAll().ok());
  EXPECT_TRUE(WaitFor([&] { return StateOf(*runtime, "plain") == ModelState::kUnloaded; }));
  EXPECT_TRUE(WaitFor([&] { return StateOf(*runtime, "short") == ModelState::kUnloaded; }));
  EXPECT_EQ(StateOf(*runtime, "forever"), ModelState::kLoaded);
}

TEST(PoolRuntimeTest, PinnedAliasSurvivesPressure) {
  const int64_t size = ChatBytes();
  ModelSpec pinned = ChatSpec("pinned");
  pinned.pinned = true;
  ModelSpec other = ChatSpec("other");
  other.load_timeout = 200ms;
  auto runtime = BuildWithPool(MakeLlama(), {pinned, other}, Budget(size + size / 2));
  ASSERT_TRUE(runtime);
  ASSERT_TRUE(runtime->lifecycle().Load("pinned").ok());
  Status s = runtime->lifecycle().Load("other");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_EQ(StateOf(*runtime, "pinned"), ModelState::kLoaded);
  ASSERT_TRUE(runtime->lifecycle().Unload("pinned").ok());  // manual unload frees the room
  // (A reload to a patient load timeout loads it: the short one above is for the wait.)
  EXPECT_TRUE(runtime->lifecycle().Reload("other", ChatSpec("other")).ok());
  EXPECT_EQ(StateOf(*runtime, "other"), ModelState::kLoaded);
}

TEST(PoolRuntimeTest, SetConfigPassesThePoolSection) {
  Config config;
  config.providers.push_back({.id = "local", .type = "llama"});
  config.models.push_back(ChatSpec());
  config.pool.memory_budget_mb = 64;
  config.pool.max_loaded = 3;
  auto runtime = ModelRuntime::Builder().SetConfig(config).Build();
  ASSERT_TRUE(runtime.ok()) << runtime.error().ToString();
  PoolStats stats = (*runtime)->PoolStatus();
  EXPECT_EQ(stats.budget_bytes, 64 << 20);
  EXPECT_EQ(stats.max_loaded, 3);
  EXPECT_EQ((*runtime)->metrics().GetGauge("modelrt_pool_budget_bytes", "").Value(), 64 << 20);
}

// ---- Memory really comes back
// --------------------------------------------------------------------

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// glibc keeps freed heap memory for reuse; trimming first measures what the process holds.
int64_t TrimmedResidentBytes() {
  malloc_trim(0);
  return ResidentBytes();
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

TEST(PoolRssTest, UnloadGivesTheMemoryBack) {
  if (kSanitized) GTEST_SKIP() << "sanitizers own the process's memory map";
  const std::string path = testing::TestTempDir() + "/llama-e512-l8.gguf";
  ASSERT_TRUE(llama::WriteTestModel({.kind = llama::TestModelKind::kLlama,
                                     .path = path,
                                     .embd = 512,
                                     .layers = 8,
                                     .heads = 8,
                                     .ff = 1024})
                  .ok());
  ModelSpec spec = ChatSpec("big");
  spec.model = path;
  spec.options = MakeOptions({{"parallel", 1}});
  auto provider = MakeFaultyLlama();
  auto runtime = BuildRuntime(provider, {spec});
  ASSERT_TRUE(runtime);
  // One round first: llama.cpp's one-time setup stays for the process's life, not per engine.
  ASSERT_TRUE(runtime->lifecycle().Load("big").ok());
  ASSERT_TRUE(runtime->lifecycle().Unload("big").ok());

  const int64_t before = TrimmedResidentBytes();
  auto start = Clock::now();
  ASSERT_TRUE(runtime->lifecycle().Load("big").ok());
  const double load_s = Seconds(start);
  const int64_t engine = runtime->Describe("big")->info.memory_bytes;
  const int64_t loaded = TrimmedResidentBytes();
  start = Clock::now();
  ASSERT_TRUE(runtime->lifecycle().Unload("big").ok());  // idle: freed before Unload returns
  const double unload_s = Seconds(start);
  const int64_t after = TrimmedResidentBytes();
  EXPECT_TRUE(provider->loaded_models().back().expired()) << "freed when Unload returned";

  std::printf(
      "[pool-numbers] engine %.1f MiB; RSS before load %.1f MiB, after load %.1f MiB, "
      "after unload %.1f MiB; load %.3f s, unload %.3f s\n",
      engine / 1048576.0, before / 1048576.0, loaded / 1048576.0, after / 1048576.0, load_s,
      unload_s);
  EXPECT_GT(engine, 64 << 20);
  EXPECT_GT(loaded - before, engine / 2) << "the load should show in RSS";
  const int64_t tolerance = std::max<int64_t>((loaded - before) / 10, 8 << 20);
  EXPECT_LT(after - before, tolerance) << "the unload should give the memory back";
  EXPECT_EQ(runtime->PoolStatus().bytes_in_use, 0);
}

}  // namespace
}  // namespace modelrt::pool_test
