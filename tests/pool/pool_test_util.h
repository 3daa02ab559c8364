// Shared set-up for the pool tests: a settable clock for TTLs, real engines (generated BERT
// embedders loaded by the real llama provider, optionally through the fault-injecting test
// double) and a helper that reserves room for an engine and installs it.
//
//   FakeClock clock;
//   auto pool = MakePool({.memory_budget_bytes = 0}, &clock);
//   auto model = LoadEmbedder();
//   ASSERT_TRUE(Put(*pool, Key("a"), model).ok());
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "pool/engine_pool.h"
#include "runtime/runtime_test_util.h"
#include "support/llama_test_models.h"

namespace modelrt::pool_test {

using namespace std::chrono_literals;
using runtime_test::WaitFor;

// A clock that moves only when told to (TTL tests without sleeping).
class FakeClock {
 public:
  Clock::time_point Now() const { return Clock::time_point(Clock::duration(ns_.load())); }
  void Advance(Clock::duration d) { ns_.fetch_add(d.count()); }
  std::function<Clock::time_point()> AsFunction() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<Clock::rep> ns_{Clock::duration(std::chrono::hours(1)).count()};
};

inline EngineKey Key(const std::string& name) { return EngineKey{name, "cpu"}; }

// Options without a maintenance thread (tests drive RunMaintenance) on `clock` when given.
inline EnginePool::Options TestOptions(FakeClock* clock = nullptr) {
  EnginePool::Options options;
  options.maintenance_period = 0ms;
  options.health_check_interval = 0ms;
  options.metrics = std::make_shared<MetricsRegistry>();
  if (clock != nullptr) options.clock = clock->AsFunction();
  return options;
}

inline std::unique_ptr<EnginePool> MakePool(EnginePool::Options options) {
  auto pool = EnginePool::Create(std::move(options));
  EXPECT_TRUE(pool.ok()) << pool.error().ToString();
  return pool.ok() ? *std::move(pool) : nullptr;
}

inline ModelSpec EmbedderSpec(const std::string& alias = "embed") {
  ModelSpec spec = runtime_test::EmbedSpec(alias);
  spec.model = testing::TestModel(llama::TestModelKind::kBertEmbed);
  return spec;
}

// A real engine: the generated BERT embedder loaded by `provider` (the llama provider if null).
inline std::shared_ptr<Model> LoadEmbedder(std::shared_ptr<Provider> provider = nullptr) {
  if (!provider) provider = runtime_test::MakeLlama();
  auto model = provider->Load(EmbedderSpec(), CallContext::WithTimeout(60s));
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  return model.ok() ? *model : nullptr;
}

// Reserves the model's size for `key` (waiting at most `wait`) and installs it.
inline Result<EnginePool::Installed> Put(EnginePool& pool, const EngineKey& key,
                                         std::shared_ptr<Model> model, EngineOptions options = {},
                                         uint64_t epoch = 1, std::chrono::milliseconds wait = 5s) {
  MODELRT_ASSIGN_OR_RETURN(
      EnginePool::Reservation room,
      pool.Reserve(key, model->Info().memory_bytes, CallContext::WithTimeout(wait)));
  return pool.Install(std::move(room), {std::move(model), epoch, 0, std::move(options)});
}

inline bool IsLive(const EnginePool& pool, const std::string& name) {
  return pool.Describe(Key(name)).live.has_value();
}

// Runs `fn` on its own thread and waits at most `limit`: a deadlock fails the test (and ends the
// process, since a deadlocked thread cannot be joined) instead of hanging it.
inline void RunsWithin(std::chrono::milliseconds limit, const std::function<void()>& fn) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread thread([fn, done] {
    fn();
    done->set_value();
  });
  if (finished.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "deadlock: the operation did not finish within %lld ms\n",
                 static_cast<long long>(limit.count()));
    std::_Exit(3);
  }
  thread.join();
}

}  // namespace modelrt::pool_test
