// EnginePool health checks (engines made unhealthy by the FaultInjectingProvider test double around
// real llama engines), eviction callbacks that call back into the pool, and the metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "pool_test_util.h"

namespace modelrt::pool_test {
namespace {

using testing::FaultInjectingProvider;

TEST(PoolHealthTest, CheckoutDropsAnUnhealthyEngine) {
  auto provider = runtime_test::MakeFaultyLlama();
  auto pool = MakePool(TestOptions());
  auto model = LoadEmbedder(provider);
  std::weak_ptr<Model> weak = model;
  ASSERT_TRUE(Put(*pool, Key("a"), std::move(model)).ok());
  ASSERT_TRUE(pool->Checkout(Key("a")).ok());

  provider->BreakLoadedModels(UnavailableError("injected: engine crashed"));
  auto lease = pool->Checkout(Key("a"));
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code(), StatusCode::kNotFound);
  EXPECT_NE(lease.error().message().find("engine crashed"), std::string::npos);
  EXPECT_FALSE(IsLive(*pool, "a"));
  EXPECT_TRUE(weak.expired()) << "dropped engines are freed";
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.evictions["health"], 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.bytes_in_use, 0);

  // Reloaded on next use: a new (healthy) engine goes in and serves.
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder(provider)).ok());
  auto again = pool->Checkout(Key("a"));
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->generation(), 2u);
}

TEST(PoolHealthTest, PeriodicPassDropsUnhealthyEnginesEvenWhenBusy) {
  FakeClock clock;
  auto provider = runtime_test::MakeFaultyLlama();
  EnginePool::Options options = TestOptions(&clock);
  options.health_check_interval = 30s;
  auto pool = MakePool(options);
  auto sick = LoadEmbedder(provider);
  std::weak_ptr<Model> weak = sick;
  ASSERT_TRUE(Put(*pool, Key("sick"), std::move(sick)).ok());
  provider->BreakLoadedModels(UnavailableError("injected: worker died"));
  ASSERT_TRUE(Put(*pool, Key("well"), LoadEmbedder(provider)).ok());  // loaded after: healthy

  std::optional<EnginePool::Lease> lease;
  lease.emplace(*pool->Checkout(Key("well")));  // a call in progress on the healthy engine
  clock.Advance(10s);
  pool->RunMaintenance();  // not due yet
  EXPECT_TRUE(IsLive(*pool, "sick"));
  clock.Advance(25s);
  pool->RunMaintenance();
  EXPECT_FALSE(IsLive(*pool, "sick"));
  EXPECT_TRUE(IsLive(*pool, "well"));
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(pool->Stats().evictions["health"], 1u);

  provider->BreakLoadedModels(UnavailableError("injected: all down"));
  pool->CheckHealth();  // forced pass: the busy engine drains
  EXPECT_FALSE(IsLive(*pool, "well"));
  EXPECT_EQ(pool->Stats().engines_draining, 1);
  lease.reset();
  EXPECT_EQ(pool->Stats().engines_draining, 0);
  EXPECT_EQ(pool->Stats().evictions["health"], 2u);
}

TEST(PoolHealthTest, EvictionCallbacksMayCallBackIntoThePool) {
  auto model_size = LoadEmbedder()->Info().memory_bytes;
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = 3 * model_size + model_size / 2;  // three engines
  std::unique_ptr<EnginePool> pool;
  std::mutex seen_mu;
  std::vector<std::string> seen;
  std::atomic<int> nested{0};
  options.on_evict = [&](const EvictionEvent& event) {
    // Every kind of call back into the pool, from inside the callback: none may deadlock.
    PoolStats stats = pool->Stats();
    EXPECT_LE(stats.bytes_in_use, options.memory_budget_bytes);
    (void)pool->Describe(event.key);
    if (auto lease = pool->Checkout(Key("keeper")); lease.ok()) {
      EXPECT_EQ(lease->key(), Key("keeper"));
    }
    if (event.key == Key("b") && nested.fetch_add(1) == 0) {
      pool->Evict(Key("c"));  // an eviction inside an eviction callback
    }
    std::lock_guard<std::mutex> lock(seen_mu);
    seen.push_back(event.key.model + ":" + std::string(ToString(event.reason)));
  };
  pool = MakePool(options);
  RunsWithin(60s, [&] {
    ASSERT_TRUE(Put(*pool, Key("keeper"), LoadEmbedder(), {.pinned = true}).ok());
    ASSERT_TRUE(Put(*pool, Key("b"), LoadEmbedder()).ok());
    ASSERT_TRUE(Put(*pool, Key("c"), LoadEmbedder()).ok());
    // Evicts b (LRU; keeper is pinned), and b's callback evicts c.
    ASSERT_TRUE(Put(*pool, Key("d"), LoadEmbedder(), {.keep_alive = 0ms}).ok());
    { auto lease = pool->Checkout(Key("d")); }  // keep-alive 0: evicted on release
    pool->Evict(Key("keeper"));
  });
  std::vector<std::string> expected = {"c:manual", "b:lru", "d:ttl", "keeper:manual"};
  std::lock_guard<std::mutex> lock(seen_mu);
  EXPECT_EQ(seen, expected);
}

TEST(PoolHealthTest, ListenersComeAndGo) {
  auto pool = MakePool(TestOptions());
  std::atomic<int> calls{0};
  const uint64_t id = pool->AddEvictionListener([&](const EvictionEvent&) { calls.fetch_add(1); });
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  EXPECT_TRUE(pool->Evict(Key("a")));
  EXPECT_EQ(calls.load(), 1);
  pool->RemoveEvictionListener(id);
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  EXPECT_TRUE(pool->Evict(Key("a")));
  EXPECT_FALSE(pool->Evict(Key("a")));  // nothing live any more
  EXPECT_EQ(calls.load(), 1);
}

TEST(PoolMetricsTest, SeriesMirrorTheStats) {
  auto model_size = LoadEmbedder()->Info().memory_bytes;
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = model_size + model_size / 2;
  options.max_loaded = 3;
  auto registry = options.metrics;
  auto pool = MakePool(options);
  auto counter = [&](const std::string& name, const Labels& labels = {}) {
    return registry->GetCounter(name, "", labels).Value();
  };
  auto gauge = [&](const std::string& name, const Labels& labels = {}) {
    return registry->GetGauge(name, "", labels).Value();
  };
  EXPECT_EQ(gauge("modelrt_pool_budget_bytes"), options.memory_budget_bytes);
  EXPECT_EQ(gauge("modelrt_pool_max_loaded"), 3);

  EXPECT_FALSE(pool->Checkout(Key("a")).ok());             // miss
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());  // load
  ASSERT_TRUE(pool->Checkout(Key("a")).ok());              // hit
  ASSERT_TRUE(pool->Checkout(Key("a")).ok());              // hit
  ASSERT_TRUE(Put(*pool, Key("b"), LoadEmbedder()).ok());  // load, evicts a (lru)
  EXPECT_FALSE(pool->Reserve(Key("x"), 2 * model_size, CallContext::WithTimeout(1s)).ok());
  EXPECT_TRUE(pool->Evict(Key("b")));  // manual

  EXPECT_EQ(counter("modelrt_pool_hits_total"), 2);
  EXPECT_EQ(counter("modelrt_pool_misses_total"), 1);
  EXPECT_EQ(counter("modelrt_pool_loads_total"), 2);
  EXPECT_EQ(counter("modelrt_pool_load_failures_total"), 1);
  EXPECT_EQ(counter("modelrt_pool_evictions_total", {{"reason", "lru"}}), 1);
  EXPECT_EQ(counter("modelrt_pool_evictions_total", {{"reason", "manual"}}), 1);
  EXPECT_EQ(counter("modelrt_pool_evictions_total", {{"reason", "ttl"}}), 0);
  EXPECT_EQ(counter("modelrt_pool_evictions_total", {{"reason", "health"}}), 0);
  EXPECT_DOUBLE_EQ(gauge("modelrt_pool_hit_rate"), 2.0 / 3.0);
  EXPECT_EQ(gauge("modelrt_pool_bytes_in_use"), 0);
  EXPECT_EQ(gauge("modelrt_pool_engines", {{"state", "live"}}), 0);

  ASSERT_TRUE(Put(*pool, Key("c"), LoadEmbedder()).ok());
  EXPECT_EQ(gauge("modelrt_pool_bytes_in_use"), model_size);
  EXPECT_EQ(gauge("modelrt_pool_engines", {{"state", "live"}}), 1);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.loads, 3u);
  EXPECT_DOUBLE_EQ(stats.hit_rate, 2.0 / 3.0);
  const std::string text = registry->RenderPrometheus();
  EXPECT_NE(text.find("modelrt_pool_evictions_total{reason=\"lru\"} 1"), std::string::npos);
  EXPECT_NE(text.find("modelrt_pool_hit_rate"), std::string::npos);
}

TEST(PoolMetricsTest, OptionsFromConfigAndValidation) {
  PoolConfig config;
  config.memory_budget_mb = 3;
  config.max_loaded = 4;
  config.idle_ttl_s = 5;
  config.health_check_interval_s = 6;
  EnginePool::Options options = EnginePool::Options::FromConfig(config);
  EXPECT_EQ(options.memory_budget_bytes, 3 << 20);
  EXPECT_EQ(options.max_loaded, 4);
  EXPECT_EQ(options.idle_ttl, 5s);
  EXPECT_EQ(options.health_check_interval, 6s);
  options.max_loaded = -1;
  EXPECT_EQ(EnginePool::Create(options).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ToString(EvictionReason::kLru), "lru");
  EXPECT_EQ(ToString(EvictionReason::kReplaced), "replaced");
  EXPECT_EQ(ToString(EngineState::kDraining), "draining");
  EXPECT_EQ(Key("a").ToString(), "a@cpu");
}

}  // namespace
}  // namespace modelrt::pool_test
