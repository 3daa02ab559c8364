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
  while (budget.stats().waiting < 1) std::this_thread::yield();
  auto narrow = std::async(std::launch::async, [&] {
    CpuLease l = budget.Acquire(1);
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(1);
  });
  while (budget.stats().waiting < 2) std::this_thread::yield();
  first = CpuLease();  // released: the wide request goes first, then the narrow one
  wide.get();
  narrow.get();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], 2);
  EXPECT_EQ(order[1], 1);
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
