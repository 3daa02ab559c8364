// The CPU limit a container runtime sets as a CFS quota (docker --cpus, a Kubernetes CPU
// limit): the process may use quota/period cores' worth of time, which neither the affinity
// mask nor hardware_concurrency shows. Rounded down (at least 1), as Go's automaxprocs does:
// threads past the quota only get throttled.
//
//   std::optional<int> limit = CgroupCpuLimit();   // 2 under --cpus 2.5; none when unlimited
//
// Thread-safety: pure functions and file reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace modelrt {

// Cores for a quota and period in microseconds; none when unlimited (quota <= 0) or unreadable.
std::optional<int> CoresFromCfsQuota(int64_t quota_us, int64_t period_us);
// cgroup v2's cpu.max: "QUOTA PERIOD" or "max PERIOD".
std::optional<int> CoresFromCpuMax(std::string_view cpu_max);
// This process's limit: its cgroup v2 cpu.max, else cgroup v1's cpu.cfs_quota_us; none when
// there is no limit or nothing can be read.
std::optional<int> CgroupCpuLimit();

}  // namespace modelrt
