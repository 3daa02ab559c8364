// CpuBudget: cores handed out in turn, never more than the machine has.
#include "core/cpu_budget.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace modelrt {
namespace {

using namespace std::chrono_literals;

// Waits until `n` requests are queued on `budget`.
void WaitForWaiters(const CpuBudget& budget, int n) {
  while (budget.stats().waiting < n) std::this_thread::yield();
}

TEST(CpuBudgetTest, NeverHandsOutMoreCoresThanItHas) {
  CpuBudget budget(3);
  std::atomic<int> in_use{0}, peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        CpuLease lease = budget.Acquire(1 + (t + i) % 3);
        int now = in_use.fetch_add(lease.cores()) + lease.cores();
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        in_use.fetch_sub(lease.cores());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(budget.stats().in_use, 0);
  EXPECT_EQ(budget.stats().leases, 6 * 200);
}

TEST(CpuBudgetTest, ClampsRequestsToTheMachine) {
  CpuBudget budget(2);
  CpuLease lease = budget.Acquire(64);
  EXPECT_EQ(lease.cores(), 2);
  lease = CpuLease();
  EXPECT_EQ(budget.stats().in_use, 0);
  EXPECT_EQ(budget.Acquire(0).cores(), 1);
}

TEST(CpuBudgetTest, ServesRequestsInTheOrderTheyCame) {
  CpuBudget budget(2);
  CpuLease first = budget.Acquire(2);
  std::vector<int> order;
  std::mutex mu;
  // A wide request waits at the head of the line; narrow ones behind it must not overtake it,
  // or a busy small engine could starve a large one forever.
  auto wide = std::async(std::launch::async, [&] {
    CpuLease l = budget.Acquire(2);
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(2);
  });
  WaitForWaiters(budget, 1);
  auto narrow = std::async(std::launch::async, [&] {
    CpuLease l = budget.Acquire(1);
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(1);
  });
  WaitForWaiters(budget, 2);
  first = CpuLease();  // released: the wide request goes first, then the narrow one
  wide.get();
  narrow.get();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], 2);
  EXPECT_EQ(order[1], 1);
}

TEST(CpuBudgetTest, AnEngineThatUsedLessTimeGoesFirst) {
  // A hand-moved clock: what each share used is exact, so the order is too.
  std::atomic<int64_t> now{0};
  CpuBudget budget(1, [&] { return now.load(); });
  CpuShare long_turns, short_turns;
  {
    CpuLease lease = budget.Acquire(1, &long_turns);  // one embedding batch: 100 ms
    now += 100'000'000;
  }
  CpuLease blocker = budget.Acquire(1);
  std::vector<std::string> order;
  std::mutex mu;
  auto take = [&](CpuShare* share, const char* name) {
    CpuLease l = budget.Acquire(1, share);
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(name);
    now += 1'000'000;
  };
  // The long-turn engine asks first, yet the one that used nothing goes before it.
  auto a = std::async(std::launch::async, take, &long_turns, "long");
  WaitForWaiters(budget, 1);
  auto b = std::async(std::launch::async, take, &short_turns, "short");
  WaitForWaiters(budget, 2);
  blocker = CpuLease();
  a.get();
  b.get();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], "short");
  EXPECT_EQ(order[1], "long");
}

TEST(CpuBudgetTest, BusyEnginesShareTheCoresByTimeNotByTurns) {
  // Two engines busy at once on one core: one holds it 10 ms a turn (embedding batches), the
  // other 0.5 ms (generation steps). Counted by turns the short one would get 5 % of the time;
  // by time, about half. Real time, because "busy" means asking again while the other computes.
  // The bound is loose: a thread the OS keeps off the CPU past the grace loses a turn.
  CpuBudget budget(1);
  CpuShare long_share, short_share;
  std::atomic<int64_t> long_us{0}, short_us{0};
  std::atomic<bool> stop{false};
  auto engine = [&](CpuShare* share, std::chrono::microseconds turn, std::atomic<int64_t>* sum) {
    while (!stop) {
      CpuLease lease = budget.Acquire(1, share);
      const auto start = std::chrono::steady_clock::now();
      std::this_thread::sleep_for(turn);
      *sum += std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    }
  };
  std::thread long_engine(engine, &long_share, 10ms, &long_us);
  std::thread short_engine(engine, &short_share, 500us, &short_us);
  std::this_thread::sleep_for(800ms);
  stop = true;
  long_engine.join();
  short_engine.join();
  const double short_part = static_cast<double>(short_us) / (long_us + short_us);
  EXPECT_GT(short_part, 0.25) << "short " << short_us << " us, long " << long_us << " us";
  EXPECT_LT(short_part, 0.75) << "short " << short_us << " us, long " << long_us << " us";
}

TEST(CpuBudgetTest, MachineCoresHonorsTheEnvironment) {
  const char* old = std::getenv("MODELRT_CPU_CORES");
  std::string saved = old ? old : "";
  setenv("MODELRT_CPU_CORES", "3", 1);
  EXPECT_EQ(CpuBudget::MachineCores(), 3);
  setenv("MODELRT_CPU_CORES", "junk", 1);
  EXPECT_GE(CpuBudget::MachineCores(), 1);
  if (old) setenv("MODELRT_CPU_CORES", saved.c_str(), 1);
  else unsetenv("MODELRT_CPU_CORES");
}

}  // namespace
}  // namespace modelrt
