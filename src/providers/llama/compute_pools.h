// ComputePools: the ggml thread pools that every llama.cpp context in the process computes on,
// handed out one compute step at a time together with the cores from the CpuBudget.
//
// ggml is built without OpenMP (scripts/setup): with OpenMP each context's decodes ran on a
// thread team of its own, and two loaded engines owned more spinning threads than there are
// cores (see core/cpu_budget.h for what that cost). Here a context owns no threads: a decode
// takes a turn (cores + a pool of that size nobody else is using), attaches the pool to the
// context and computes; an idle engine holds nothing. Pools are kept and reused, so a decode
// pays no thread start-up, and a pool's threads are the same ones from one engine to the next.
//
//   ComputePools::Turn turn = pools->Acquire(threads, &share_);  // share_: the engine's
//   int rc = turn.Decode(ctx, batch);
//
// Thread-safety: thread-safe. A Turn is used by one thread.
#pragma once

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <ggml-cpu.h>
#include <llama.h>

#include "core/cpu_budget.h"
#include "core/thread_annotations.h"

namespace modelrt::llama {

class ComputePools {
 public:
  explicit ComputePools(std::shared_ptr<CpuBudget> budget);
  ~ComputePools();
  ComputePools(const ComputePools&) = delete;
  ComputePools& operator=(const ComputePools&) = delete;

  // The process-wide pools, alive while an engine holds them.
  static std::shared_ptr<ComputePools> Shared();

  // Compute threads an engine asked for, bounded by the machine's cores.
  int ThreadsFor(int requested) const;

  // One compute step's cores and pool; both go back when the turn ends.
  class Turn {
   public:
    Turn(Turn&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          lease_(std::move(other.lease_)),
          pool_(other.pool_) {}
    Turn& operator=(Turn&&) = delete;
    ~Turn();
    int threads() const { return lease_.cores(); }
    // llama_decode (llama_encode when `encode`) on this turn's pool.
    int32_t Decode(llama_context* ctx, const llama_batch& batch, bool encode = false);

   private:
    friend class ComputePools;
    Turn(ComputePools* owner, CpuLease lease, ggml_threadpool* pool)
        : owner_(owner), lease_(std::move(lease)), pool_(pool) {}
    ComputePools* owner_;
    CpuLease lease_;  // released after pool_ is back in the free list (see ~Turn)
    ggml_threadpool* pool_;
  };

  // Blocks until `threads` cores are free, in turn with every other engine; the time is
  // charged to `share` (the engine's), which decides the turns (see core/cpu_budget.h).
  Turn Acquire(int threads, CpuShare* share) EXCLUDES(mu_);

  // ggml pools created so far (they are reused, not freed, until the last engine goes).
  int pools_created() const EXCLUDES(mu_);

 private:
  ggml_threadpool* TakePool(int threads) EXCLUDES(mu_);
  void ReturnPool(int threads, ggml_threadpool* pool) EXCLUDES(mu_);

  const std::shared_ptr<CpuBudget> budget_;
  mutable Mutex mu_;
  std::map<int, std::vector<ggml_threadpool*>> free_ GUARDED_BY(mu_);  // by thread count
  std::vector<ggml_threadpool*> all_ GUARDED_BY(mu_);
};

}  // namespace modelrt::llama
