// SingleFlight with real threads: one piece of work per key, results shared, deadlines honored,
// the in-flight map emptied on success, failure and abandonment.
#include "runtime/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "modelrt/status.h"
#include "runtime/thread_group.h"

namespace modelrt::internal {
namespace {

using namespace std::chrono_literals;
using Flights = SingleFlight<std::string, Result<int>>;

// Starts work on `threads` that sleeps `work_time` then answers `answer`.
Flights::Start SlowWork(Flights& flights, ThreadGroup& threads, std::atomic<int>& runs,
                        Clock::duration work_time, Result<int> answer,
                        std::atomic<int>* discarded = nullptr) {
  return [&flights, &threads, &runs, work_time, answer,
          discarded](const Flights::FlightPtr& flight) -> std::optional<Result<int>> {
    runs.fetch_add(1);
    EXPECT_TRUE(threads.Spawn([&flights, flight, work_time, answer, discarded] {
      std::this_thread::sleep_for(work_time);
      if (flights.Claim(flight)) {
        flights.Finish(flight, answer);
      } else if (discarded != nullptr) {
        discarded->fetch_add(1);
      }
    }));
    return std::nullopt;
  };
}

TEST(SingleFlightTest, ManyWaitersShareOneRun) {
  Flights flights;
  ThreadGroup threads;
  std::atomic<int> runs{0};
  auto start = SlowWork(flights, threads, runs, 100ms, Result<int>(42));
  constexpr int kWaiters = 16;
  std::latch go(kWaiters);
  std::vector<std::thread> waiters;
  std::atomic<int> got_42{0}, started{0};
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      go.arrive_and_wait();
      auto out = flights.Do("k", Clock::time_point::max(), 10s, start);
      if (out.wait == Flights::Wait::kDone && out.value && *out.value && **out.value == 42) {
        got_42.fetch_add(1);
      }
      if (out.started) started.fetch_add(1);
    });
  }
  for (auto& t : waiters) t.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(got_42.load(), kWaiters);
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightTest, FailureIsSharedAndNotKept) {
  Flights flights;
  ThreadGroup threads;
  std::atomic<int> runs{0};
  auto fail = SlowWork(flights, threads, runs, 10ms, Result<int>(UnavailableError("down")));
  auto out = flights.Do("k", Clock::time_point::max(), 10s, fail);
  ASSERT_EQ(out.wait, Flights::Wait::kDone);
  EXPECT_EQ(out.value->error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(flights.InFlight(), 0u);
  // The next Do runs the work again rather than replaying the failure.
  auto ok = SlowWork(flights, threads, runs, 10ms, Result<int>(7));
  out = flights.Do("k", Clock::time_point::max(), 10s, ok);
  EXPECT_EQ(runs.load(), 2);
  ASSERT_TRUE(out.value && *out.value);
  EXPECT_EQ(**out.value, 7);
}

TEST(SingleFlightTest, FlightDeadlineAbandonsAndDiscardsLateResult) {
  std::atomic<int> abandoned{0};
  Flights flights([&](const std::string& key, uint64_t) {
    EXPECT_EQ(key, "k");
    abandoned.fetch_add(1);
  });
  ThreadGroup threads;
  std::atomic<int> runs{0}, discarded{0};
  auto slow = SlowWork(flights, threads, runs, 300ms, Result<int>(1), &discarded);
  auto out = flights.Do("k", Clock::time_point::max(), 50ms, slow);
  EXPECT_EQ(out.wait, Flights::Wait::kFlightExpired);
  EXPECT_FALSE(out.value.has_value());
  EXPECT_EQ(flights.InFlight(), 0u);
  EXPECT_EQ(abandoned.load(), 1);
  threads.WaitIdle();
  EXPECT_EQ(discarded.load(), 1);
  EXPECT_EQ(abandoned.load(), 1);  // the late Claim does not report it twice
}

TEST(SingleFlightTest, CallerDeadlineLeavesTheFlightRunning) {
  Flights flights;
  ThreadGroup threads;
  std::atomic<int> runs{0};
  auto slow = SlowWork(flights, threads, runs, 200ms, Result<int>(5));
  auto out = flights.Do("k", Clock::now() + 20ms, 10s, slow);
  EXPECT_EQ(out.wait, Flights::Wait::kCallerExpired);
  EXPECT_EQ(flights.InFlight(), 1u);
  // A second caller joins the same flight and gets its result.
  out = flights.Do("k", Clock::time_point::max(), 10s, slow);
  EXPECT_EQ(out.wait, Flights::Wait::kDone);
  EXPECT_FALSE(out.started);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightTest, StopPredicateEndsTheWait) {
  Flights flights;
  ThreadGroup threads;
  std::atomic<int> runs{0};
  std::atomic<bool> stop{false};
  auto slow = SlowWork(flights, threads, runs, 300ms, Result<int>(5));
  std::thread stopper([&] {
    std::this_thread::sleep_for(30ms);
    stop.store(true);
  });
  auto out = flights.Do("k", Clock::time_point::max(), 10s, slow, [&] { return stop.load(); });
  stopper.join();
  EXPECT_EQ(out.wait, Flights::Wait::kCallerCancelled);
}

TEST(SingleFlightTest, ImmediateAnswerStartsNoFlight) {
  Flights flights;
  auto out = flights.Do("k", Clock::time_point::max(), 10s,
                        [](const Flights::FlightPtr&) { return std::optional<Result<int>>(3); });
  EXPECT_EQ(out.wait, Flights::Wait::kDone);
  EXPECT_FALSE(out.started);
  EXPECT_EQ(**out.value, 3);
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightTest, KeysAreIndependent) {
  Flights flights;
  ThreadGroup threads;
  std::atomic<int> runs{0};
  auto a = SlowWork(flights, threads, runs, 50ms, Result<int>(1));
  auto b = SlowWork(flights, threads, runs, 50ms, Result<int>(2));
  std::thread ta([&] { EXPECT_EQ(**flights.Do("a", Clock::time_point::max(), 10s, a).value, 1); });
  std::thread tb([&] { EXPECT_EQ(**flights.Do("b", Clock::time_point::max(), 10s, b).value, 2); });
  ta.join();
  tb.join();
  EXPECT_EQ(runs.load(), 2);
}

TEST(ThreadGroupTest, WaitIdleAndJoinAll) {
  ThreadGroup group;
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(group.Spawn([&] {
      std::this_thread::sleep_for(10ms);
      done.fetch_add(1);
    }));
  }
  group.WaitIdle();
  EXPECT_EQ(done.load(), 8);
  EXPECT_EQ(group.Running(), 0u);
  group.JoinAll();
  EXPECT_FALSE(group.Spawn([] {}));
}

}  // namespace
}  // namespace modelrt::internal
