// A container's CPU limit as a CFS quota: cgroup v2's cpu.max and v1's quota and period, and
// what this process's cgroup says (whatever the machine: the limit, when there is one, is never
// above the CPUs the machine has).
#include "core/cgroup_cpu.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/cpu_budget.h"

namespace modelrt {
namespace {

TEST(CgroupCpuTest, CpuMaxGivesWholeCoresRoundedDown) {
  EXPECT_EQ(CoresFromCpuMax("200000 100000\n"), 2);
  EXPECT_EQ(CoresFromCpuMax("250000 100000"), 2);   // --cpus 2.5: threads past 2 are throttled
  EXPECT_EQ(CoresFromCpuMax("50000 100000"), 1);    // at least one
  EXPECT_EQ(CoresFromCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax(""), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("abc 100000"), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("100000 0"), std::nullopt);
}

TEST(CgroupCpuTest, CfsQuotaOfCgroupV1) {
  EXPECT_EQ(CoresFromCfsQuota(400000, 100000), 4);
  EXPECT_EQ(CoresFromCfsQuota(-1, 100000), std::nullopt);  // v1's "unlimited"
  EXPECT_EQ(CoresFromCfsQuota(150000, 100000), 1);
}

TEST(CgroupCpuTest, TheBudgetNeverExceedsThisProcesssLimit) {
  const std::optional<int> limit = CgroupCpuLimit();
  if (limit) EXPECT_GE(*limit, 1);
  if (std::getenv("MODELRT_CPU_CORES") == nullptr && limit) {
    EXPECT_LE(CpuBudget::MachineCores(), *limit);
  }
  EXPECT_LE(CpuBudget::MachineCores(),
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace modelrt
