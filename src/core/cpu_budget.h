// CpuBudget: the machine's cores, shared by every local engine in the process. An engine asks
// for the cores one compute step needs (a llama_decode, later an ONNX Run) and holds them only
// for that step; requests are served first come, first served, so busy engines take turns
// instead of running more compute threads than there are cores.
//
// Why: each engine used to compute on its own thread team. Two loaded engines then owned more
// compute threads than the machine has cores, and spin barriers (ggml crosses many per token)
// turned into sleeps: generation ran 6.6x slower as soon as an idle second model was loaded.
// Taking turns on the cores costs an idle engine nothing and a busy one only the wait.
//
//   std::shared_ptr<CpuBudget> budget = CpuBudget::Shared();
//   {
//     CpuLease lease = budget->Acquire(4);   // blocks until 4 cores are free, in turn
//     RunCompute(lease.cores());
//   }                                        // released here
//
// The budget is the number of CPUs this process may run on (sched_getaffinity), or
// MODELRT_CPU_CORES when set. Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "core/thread_annotations.h"

namespace modelrt {

class CpuBudget;

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
  CpuLease(CpuBudget* budget, int cores) : budget_(budget), cores_(cores) {}
  void Release();

  CpuBudget* budget_ = nullptr;
  int cores_ = 0;
};

class CpuBudget {
 public:
  explicit CpuBudget(int cores);
  CpuBudget(const CpuBudget&) = delete;
  CpuBudget& operator=(const CpuBudget&) = delete;

  // The process-wide budget, alive while someone holds it (engines keep a reference).
  static std::shared_ptr<CpuBudget> Shared();
  // Cores this process may use: MODELRT_CPU_CORES when set to a positive number, else the CPUs
  // in the affinity mask (containers and taskset included), at least 1.
  static int MachineCores();

  // Blocks until `cores` (clamped to 1..total) are free and every earlier request was served.
  CpuLease Acquire(int cores) EXCLUDES(mu_);

  int total() const { return total_; }

  struct Stats {
    int in_use = 0;
    int waiting = 0;
    int64_t leases = 0;  // granted since start
  };
  Stats stats() const EXCLUDES(mu_);

 private:
  friend class CpuLease;
  void Release(int cores) EXCLUDES(mu_);

  const int total_;
  mutable Mutex mu_;
  CondVar cv_;
  int in_use_ GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ GUARDED_BY(mu_) = 0;
  uint64_t serving_ GUARDED_BY(mu_) = 0;  // the ticket at the head of the line
  int64_t leases_ GUARDED_BY(mu_) = 0;
};

}  // namespace modelrt
