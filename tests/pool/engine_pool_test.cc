// EnginePool on real engines (generated BERT embedders loaded by the real llama provider): hits
// and misses, LRU order, the memory budget, the engine count, busy engines, TTL and keep-alive
// (on a settable clock), pins, fences and draining engines.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "pool_test_util.h"

namespace modelrt::pool_test {
namespace {

class EnginePoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Every engine of these tests is the same embedder: one size for all budgets.
    auto model = LoadEmbedder();
    ASSERT_TRUE(model);
    size_ = model->Info().memory_bytes;
    ASSERT_GT(size_, 0);
  }
  static int64_t size_;
};
int64_t EnginePoolTest::size_ = 0;

TEST_F(EnginePoolTest, CheckoutMissesThenHitsTheInstalledEngine) {
  auto pool = MakePool(TestOptions());
  auto miss = pool->Checkout(Key("a"));
  EXPECT_EQ(miss.error().code(), StatusCode::kNotFound);
  auto model = LoadEmbedder();
  auto installed = Put(*pool, Key("a"), model);
  ASSERT_TRUE(installed.ok()) << installed.error().ToString();
  EXPECT_EQ(installed->generation, 1u);
  EXPECT_EQ(installed->global_generation, 1u);
  EXPECT_FALSE(installed->replaced.has_value());
  {
    auto lease = pool->Checkout(Key("a"));
    ASSERT_TRUE(lease.ok()) << lease.error().ToString();
    EXPECT_EQ(&lease->model(), model.get());
    EXPECT_EQ(lease->generation(), 1u);
    EXPECT_EQ(pool->Describe(Key("a")).in_flight, 1);
  }
  EXPECT_EQ(pool->Describe(Key("a")).in_flight, 0);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_DOUBLE_EQ(stats.hit_rate, 0.5);
  EXPECT_EQ(stats.loads, 1u);
  EXPECT_EQ(stats.bytes_in_use, size_);
  EXPECT_EQ(stats.bytes_reserved, 0);
  ASSERT_EQ(stats.engines.size(), 1u);
  EXPECT_EQ(stats.engines[0].key, Key("a"));
  EXPECT_EQ(pool->Peek(Key("a")), model);
  EXPECT_EQ(pool->Peek(Key("b")), nullptr);
}

TEST_F(EnginePoolTest, LeastRecentlyUsedGoesFirst) {
  std::vector<EvictionEvent> events;
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = 3 * size_ + size_ / 2;  // three engines
  options.on_evict = [&](const EvictionEvent& e) { events.push_back(e); };
  auto pool = MakePool(options);
  for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(Put(*pool, Key(name), LoadEmbedder()).ok());
  ASSERT_TRUE(pool->Checkout(Key("a")).ok());  // a is now the most recently used: b, c, a

  ASSERT_TRUE(Put(*pool, Key("d"), LoadEmbedder()).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key, Key("b"));
  EXPECT_EQ(events[0].reason, EvictionReason::kLru);
  ASSERT_TRUE(Put(*pool, Key("e"), LoadEmbedder()).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].key, Key("c"));
  EXPECT_TRUE(IsLive(*pool, "a"));
  EXPECT_FALSE(IsLive(*pool, "b"));
  EXPECT_EQ(pool->Stats().evictions["lru"], 2u);
}

TEST_F(EnginePoolTest, BudgetHoldsAfterEveryLoad) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = 2 * size_ + size_ / 2;  // two engines and a half
  auto pool = MakePool(options);
  const std::vector<std::string> order = {"a", "b", "c", "a", "d", "b", "e", "c", "a"};
  for (const std::string& name : order) {
    if (!IsLive(*pool, name)) {
      auto installed = Put(*pool, Key(name), LoadEmbedder());
      ASSERT_TRUE(installed.ok()) << name << ": " << installed.error().ToString();
    }
    ASSERT_TRUE(pool->Checkout(Key(name)).ok());
    PoolStats stats = pool->Stats();
    int64_t sum = 0;
    for (const EngineStatus& e : stats.engines) sum += e.memory_bytes;
    EXPECT_LE(sum, options.memory_budget_bytes) << "after " << name;
    EXPECT_EQ(sum, stats.bytes_in_use);
    EXPECT_LE(stats.bytes_in_use + stats.bytes_reserved, options.memory_budget_bytes);
    EXPECT_LE(stats.engines_live, 2);
  }
  EXPECT_GE(pool->Stats().evictions["lru"], 4u);
}

TEST_F(EnginePoolTest, MaxCountEvictsToStayUnder) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = 0;  // unlimited: only the count binds
  options.max_loaded = 2;
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  ASSERT_TRUE(Put(*pool, Key("b"), LoadEmbedder()).ok());
  ASSERT_TRUE(Put(*pool, Key("c"), LoadEmbedder()).ok());
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.engines_live, 2);
  EXPECT_FALSE(IsLive(*pool, "a"));
  EXPECT_TRUE(IsLive(*pool, "b"));
  EXPECT_TRUE(IsLive(*pool, "c"));
}

// An engine on the "remote" device (a provider's Estimate says so: an HTTP API) holds no local
// resources, so it takes no max_loaded slot and never pushes a local engine out.
TEST_F(EnginePoolTest, RemoteEnginesTakeNoMaxLoadedSlot) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = 0;
  options.max_loaded = 1;
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("local"), LoadEmbedder()).ok());
  ASSERT_TRUE(Put(*pool, EngineKey{"api-1", "remote"}, LoadEmbedder()).ok());
  ASSERT_TRUE(Put(*pool, EngineKey{"api-2", "remote"}, LoadEmbedder()).ok());
  EXPECT_EQ(pool->Stats().engines_live, 3);
  EXPECT_TRUE(IsLive(*pool, "local"));
  EXPECT_TRUE(pool->Describe(EngineKey{"api-1", "remote"}).live.has_value());
  EXPECT_TRUE(pool->Describe(EngineKey{"api-2", "remote"}).live.has_value());
  // A second local engine still finds the one slot taken, and the remote ones stay.
  ASSERT_TRUE(Put(*pool, Key("local-2"), LoadEmbedder()).ok());
  EXPECT_FALSE(IsLive(*pool, "local"));
  EXPECT_TRUE(IsLive(*pool, "local-2"));
  EXPECT_TRUE(pool->Describe(EngineKey{"api-1", "remote"}).live.has_value());
  EXPECT_TRUE(pool->Describe(EngineKey{"api-2", "remote"}).live.has_value());
}

TEST_F(EnginePoolTest, BusyEngineIsNotEvictedAndTheLoadTimesOutUnavailable) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = size_ + size_ / 2;  // one engine
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  auto lease = pool->Checkout(Key("a"));
  ASSERT_TRUE(lease.ok());

  auto room = pool->Reserve(Key("b"), size_, CallContext::WithTimeout(200ms));
  ASSERT_FALSE(room.ok());
  EXPECT_EQ(room.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(room.error().message().find("1 busy"), std::string::npos) << room.error().message();
  EXPECT_TRUE(IsLive(*pool, "a"));
  EXPECT_EQ(pool->Stats().load_failures, 1u);
  EXPECT_EQ(pool->Stats().evictions["lru"], 0u);
}

TEST_F(EnginePoolTest, WaitingLoadSucceedsOnceTheLeaseEnds) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = size_ + size_ / 2;
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  std::optional<EnginePool::Lease> lease;
  lease.emplace(*pool->Checkout(Key("a")));

  Result<EnginePool::Reservation> room = InternalError("not run");
  std::thread loader([&] { room = pool->Reserve(Key("b"), size_, CallContext::WithTimeout(60s)); });
  ASSERT_TRUE(WaitFor([&] { return pool->Stats().loads_waiting == 1; }));
  EXPECT_TRUE(IsLive(*pool, "a"));  // still serving while the load waits
  lease.reset();                    // the call ends: a is idle and can go
  loader.join();
  ASSERT_TRUE(room.ok()) << room.error().ToString();
  EXPECT_FALSE(IsLive(*pool, "a"));
  EXPECT_EQ(pool->Stats().evictions["lru"], 1u);
  EXPECT_EQ(pool->Stats().bytes_reserved, size_);
}

TEST_F(EnginePoolTest, MoreThanTheWholeBudgetFailsAtOnce) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = size_;
  auto pool = MakePool(options);
  auto room = pool->Reserve(Key("a"), size_ + 1, CallContext::WithTimeout(10min));
  EXPECT_EQ(room.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(room.error().message().find("whole budget"), std::string::npos);
}

TEST_F(EnginePoolTest, IdleTtlEvictsOnlyIdleEnginesPastIt) {
  FakeClock clock;
  EnginePool::Options options = TestOptions(&clock);
  options.idle_ttl = 10s;
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  clock.Advance(9s);
  pool->RunMaintenance();
  EXPECT_TRUE(IsLive(*pool, "a"));
  {
    auto lease = pool->Checkout(Key("a"));  // a call: the idle time starts again at its end
    clock.Advance(20s);
    pool->RunMaintenance();
    EXPECT_TRUE(IsLive(*pool, "a")) << "a busy engine must not expire";
  }
  clock.Advance(9s);
  pool->RunMaintenance();
  EXPECT_TRUE(IsLive(*pool, "a"));
  clock.Advance(2s);
  pool->RunMaintenance();
  EXPECT_FALSE(IsLive(*pool, "a"));
  EXPECT_EQ(pool->Stats().evictions["ttl"], 1u);
  EXPECT_EQ(pool->Stats().bytes_in_use, 0);
}

TEST_F(EnginePoolTest, KeepAliveOverridesTheTtl) {
  FakeClock clock;
  EnginePool::Options options = TestOptions(&clock);
  options.idle_ttl = 10s;
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("zero"), LoadEmbedder(), {.keep_alive = 0ms}).ok());
  ASSERT_TRUE(Put(*pool, Key("never"), LoadEmbedder(), {.keep_alive = -1ms}).ok());
  ASSERT_TRUE(Put(*pool, Key("short"), LoadEmbedder(), {.keep_alive = 2s}).ok());
  {
    auto lease = pool->Checkout(Key("zero"));
    ASSERT_TRUE(lease.ok());
    pool->RunMaintenance();
    EXPECT_TRUE(IsLive(*pool, "zero")) << "in use";
  }
  EXPECT_FALSE(IsLive(*pool, "zero")) << "keep-alive 0: unloaded right after use";
  clock.Advance(3s);
  pool->RunMaintenance();
  EXPECT_FALSE(IsLive(*pool, "short"));
  clock.Advance(std::chrono::hours(1000));
  pool->RunMaintenance();
  EXPECT_TRUE(IsLive(*pool, "never"));
  EXPECT_EQ(pool->Stats().evictions["ttl"], 2u);
}

TEST_F(EnginePoolTest, PinnedEnginesAreNeverEvicted) {
  FakeClock clock;
  EnginePool::Options options = TestOptions(&clock);
  options.idle_ttl = 1s;
  options.memory_budget_bytes = size_ + size_ / 2;
  auto pool = MakePool(options);
  ASSERT_TRUE(Put(*pool, Key("pinned"), LoadEmbedder(), {.pinned = true, .keep_alive = 0ms}).ok());
  ASSERT_TRUE(pool->Checkout(Key("pinned")).ok());  // keep-alive 0 does not apply either
  clock.Advance(std::chrono::hours(24));
  pool->RunMaintenance();
  EXPECT_TRUE(IsLive(*pool, "pinned"));
  auto room = pool->Reserve(Key("other"), size_, CallContext::WithTimeout(100ms));
  EXPECT_EQ(room.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(room.error().message().find("1 pinned"), std::string::npos) << room.error().message();
  EXPECT_TRUE(IsLive(*pool, "pinned"));
  EXPECT_TRUE(pool->Evict(Key("pinned")));  // a manual unload still works
  EXPECT_EQ(pool->Stats().evictions["manual"], 1u);
}

TEST_F(EnginePoolTest, ReplacedEngineDrainsUntilItsLastLease) {
  auto pool = MakePool(TestOptions());
  auto old_model = LoadEmbedder();
  std::weak_ptr<Model> old_weak = old_model;
  ASSERT_TRUE(Put(*pool, Key("a"), std::move(old_model)).ok());
  std::optional<EnginePool::Lease> old_lease;
  old_lease.emplace(*pool->Checkout(Key("a")));

  auto installed = Put(*pool, Key("a"), LoadEmbedder(), {}, /*epoch=*/2);
  ASSERT_TRUE(installed.ok()) << installed.error().ToString();
  EXPECT_EQ(installed->generation, 2u);
  ASSERT_TRUE(installed->replaced.has_value());
  EXPECT_EQ(installed->replaced->generation, 1u);
  EXPECT_EQ(installed->replaced->in_flight, 1);
  EXPECT_EQ(installed->replaced->reason, EvictionReason::kReplaced);

  auto lease = pool->Checkout(Key("a"));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->generation(), 2u);
  EXPECT_EQ(old_lease->generation(), 1u);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.engines_draining, 1);
  EXPECT_EQ(stats.bytes_in_use, 2 * size_);  // the draining engine still holds its memory
  KeyStatus key = pool->Describe(Key("a"));
  EXPECT_EQ(key.draining, 1);
  EXPECT_EQ(key.in_flight, 2);
  EXPECT_FALSE(old_weak.expired());

  old_lease.reset();
  EXPECT_TRUE(old_weak.expired()) << "freed with its last lease";
  stats = pool->Stats();
  EXPECT_EQ(stats.engines_draining, 0);
  EXPECT_EQ(stats.bytes_in_use, size_);
}

TEST_F(EnginePoolTest, FenceRefusesOlderEpochs) {
  auto pool = MakePool(TestOptions());
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder(), {}, /*epoch=*/5).ok());
  auto stale = Put(*pool, Key("a"), LoadEmbedder(), {}, /*epoch=*/3);
  EXPECT_EQ(stale.error().code(), StatusCode::kAborted);
  pool->Fence(Key("a"), 10);
  EXPECT_EQ(Put(*pool, Key("a"), LoadEmbedder(), {}, 7).error().code(), StatusCode::kAborted);
  auto fresh = Put(*pool, Key("a"), LoadEmbedder(), {}, 10);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->generation, 2u);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.load_failures, 2u);  // the refused ones
  EXPECT_EQ(stats.loads, 2u);
  EXPECT_EQ(stats.bytes_reserved, 0);  // refused reservations gave their room back
  EXPECT_EQ(stats.bytes_in_use, size_);
}

TEST_F(EnginePoolTest, ResizeGrowsTheReservationWithinTheBudget) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = size_ + size_ / 2;
  auto pool = MakePool(options);
  auto room = pool->Reserve(Key("a"), size_ / 4, CallContext::WithTimeout(1s));
  ASSERT_TRUE(room.ok());
  EXPECT_TRUE(room->Resize(size_, CallContext::WithTimeout(1s)).ok());
  EXPECT_EQ(pool->Stats().bytes_reserved, size_);
  Status too_big = room->Resize(2 * size_, CallContext::WithTimeout(1s));
  EXPECT_EQ(too_big.code(), StatusCode::kUnavailable);
  EXPECT_EQ(room->bytes(), size_);
  room = InternalError("dropped");  // gives the room back
  EXPECT_EQ(pool->Stats().bytes_reserved, 0);
  EXPECT_EQ(pool->Stats().load_failures, 1u);
}

TEST_F(EnginePoolTest, SetLimitsTakesEffectForTheNextLoad) {
  auto pool = MakePool(TestOptions());
  ASSERT_TRUE(Put(*pool, Key("a"), LoadEmbedder()).ok());
  ASSERT_TRUE(Put(*pool, Key("b"), LoadEmbedder()).ok());
  pool->SetLimits(size_ + size_ / 2, 0, 0ms, 0ms);
  ASSERT_TRUE(Put(*pool, Key("c"), LoadEmbedder()).ok());
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.engines_live, 1);
  EXPECT_EQ(stats.budget_bytes, size_ + size_ / 2);
  EXPECT_TRUE(IsLive(*pool, "c"));
}

TEST_F(EnginePoolTest, ConcurrentCheckoutsAndLoadsKeepTheBooks) {
  EnginePool::Options options = TestOptions();
  options.memory_budget_bytes = 2 * size_ + size_ / 2;
  auto pool = MakePool(options);
  std::vector<std::shared_ptr<Model>> models;
  for (int i = 0; i < 3; ++i) models.push_back(LoadEmbedder());
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load() && i < 200; ++i) {
        const int k = (t + i) % 3;
        auto lease = pool->Checkout(Key("k" + std::to_string(k)));
        if (lease.ok()) continue;
        auto put = Put(*pool, Key("k" + std::to_string(k)), models[k], {}, 1, 2s);
        (void)put;  // lost races (NotFound-free) and room timeouts are fine here
      }
    });
  }
  for (auto& t : threads) t.join();
  PoolStats stats = pool->Stats();
  EXPECT_LE(stats.bytes_in_use, options.memory_budget_bytes);
  EXPECT_EQ(stats.bytes_reserved, 0);
  EXPECT_EQ(stats.loads_waiting, 0);
  for (const EngineStatus& e : stats.engines) EXPECT_EQ(e.in_flight, 0);
}

}  // namespace
}  // namespace modelrt::pool_test
