// CpuBudget: the machine's cores, shared by every local engine in the process. An engine asks
// for the cores one compute step needs (a llama_decode, later an ONNX Run) and holds them only
// for that step, so busy engines take turns instead of running more compute threads than there
// are cores.
//
// Why: each engine used to compute on its own thread team. Two loaded engines then owned more
// compute threads than the machine has cores, and spin barriers (ggml crosses many per token)
// turned into sleeps: generation ran 6.6x slower as soon as an idle second model was loaded.
// Taking turns on the cores costs an idle engine nothing and a busy one only the wait.
//
// Turns are shared by time, not by count. Each engine keeps a CpuShare: the core-time it has
// used. When several wait, the one that used least goes next (ties: first come, first served).
// Counting turns was not enough: an embedding batch holds the cores ~100x longer than one
// generation step, so one-for-one turns left generation next to nothing when both were busy.
// An engine that was idle is brought up to near the last one served (kIdleCredit), so idling
// earns almost no credit.
//
// One more step makes the time shares real: an engine that just released its cores is not yet
// waiting again (it samples, then asks for the next step), so "least used waiter" alone would
// still alternate one-for-one. When the engine that released is behind the next waiter, its
// cores are held for it for a short grace (kGrace, 2 ms); it is back within microseconds while
// it has work, and when it has none the waiter only loses the grace.
//
//   std::shared_ptr<CpuBudget> budget = CpuBudget::Shared();
//   CpuShare share;                              // one per engine, outlives its leases
//   {
//     CpuLease lease = budget->Acquire(4, &share);  // blocks until 4 cores are free, in turn
//     RunCompute(lease.cores());
//   }                                            // released (and the time charged) here
//
// The budget is the number of CPUs this process may run on (sched_getaffinity), or
// MODELRT_CPU_CORES when set. Thread-safety: thread-safe; a CpuShare is read and written only
// under its budget's lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/thread_annotations.h"

namespace modelrt {

class CpuBudget;

// The core-time one engine has used, in core-nanoseconds. Outlives every lease taken with it.
class CpuShare {
 public:
  CpuShare() = default;
  CpuShare(const CpuShare&) = delete;
  CpuShare& operator=(const CpuShare&) = delete;

 private:
  friend class CpuBudget;
  int64_t used_ = 0;  // under the budget's lock
};

// Cores held for one compute step; released on destruction. Movable, not copyable.
class CpuLease {
 public:
  CpuLease() = default;
  CpuLease(CpuLease&& other) noexcept;
  CpuLease& operator=(CpuLease&& other) noexcept;
  CpuLease(const CpuLease&) = delete;
  CpuLease& operator=(const CpuLease&) = delete;
  ~CpuLease();

  int cores() const { return cores_; }

 private:
  friend class CpuBudget;
  CpuLease(CpuBudget* budget, int cores, CpuShare* share, int64_t start)
      : budget_(budget), cores_(cores), share_(share), start_(start) {}
  void Release();

  CpuBudget* budget_ = nullptr;
  int cores_ = 0;
  CpuShare* share_ = nullptr;
  int64_t start_ = 0;
};

class CpuBudget {
 public:
  // A monotonic clock in nanoseconds; tests pass one they move by hand.
  using Clock = std::function<int64_t()>;
  explicit CpuBudget(int cores, Clock clock = {});
  CpuBudget(const CpuBudget&) = delete;
  CpuBudget& operator=(const CpuBudget&) = delete;

  // The process-wide budget, alive while someone holds it (engines keep a reference).
  static std::shared_ptr<CpuBudget> Shared();
  // Cores this process may use: MODELRT_CPU_CORES when set to a positive number, else the CPUs
  // in the affinity mask (taskset, cpusets) capped by a cgroup CPU quota (a container's CPU
  // limit, see cgroup_cpu.h), at least 1.
  static int MachineCores();

  // Blocks until `cores` (clamped to 1..total) are free and it is this request's turn: the
  // waiter whose share used least goes first, and nobody overtakes the head of the line, so a
  // wide request is not starved by narrow ones. Without a share the request is charged to
  // nobody and queues first come, first served.
  CpuLease Acquire(int cores, CpuShare* share = nullptr) EXCLUDES(mu_);

  int total() const { return total_; }

  struct Stats {
    int in_use = 0;
    int waiting = 0;
    int64_t leases = 0;  // granted since start
  };
  Stats stats() const EXCLUDES(mu_);

 private:
  friend class CpuLease;
  struct Waiter {
    int cores;
    const CpuShare* share;
    int64_t used;     // the share's core-time when it asked: the order of service
    uint64_t ticket;  // ties: first come, first served
    bool granted = false;
  };
  void Release(int cores, CpuShare* share, int64_t start) EXCLUDES(mu_);
  // Grants the head of the line while it fits.
  void GrantLocked() REQUIRES(mu_);

  static constexpr std::chrono::milliseconds kGrace{2};
  static constexpr int64_t kIdleCredit = 100'000'000;  // core-nanoseconds: 100 ms of a core

  const int total_;
  const Clock clock_;
  mutable Mutex mu_;
  CondVar cv_;
  int in_use_ GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ GUARDED_BY(mu_) = 0;
  // The core-time of the last request served: where a share that was idle starts again.
  int64_t floor_ GUARDED_BY(mu_) = 0;
  std::vector<Waiter*> waiting_ GUARDED_BY(mu_);
  // The share whose cores are held back for it (see kGrace), and until when; null: none.
  const CpuShare* held_for_ GUARDED_BY(mu_) = nullptr;
  std::chrono::steady_clock::time_point held_until_ GUARDED_BY(mu_);
  int64_t leases_ GUARDED_BY(mu_) = 0;
};

}  // namespace modelrt
