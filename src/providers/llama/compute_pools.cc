#include "providers/llama/compute_pools.h"

#include <algorithm>
#include <utility>

#include "core/logging.h"
#include "core/shared_while_held.h"

namespace modelrt::llama {

ComputePools::ComputePools(std::shared_ptr<CpuBudget> budget) : budget_(std::move(budget)) {}

ComputePools::~ComputePools() {
  MutexLock lock(mu_);
  for (ggml_threadpool* pool : all_) ggml_threadpool_free(pool);
}

std::shared_ptr<ComputePools> ComputePools::Shared() {
  return SharedWhileHeld<ComputePools>(
      [] { return std::make_shared<ComputePools>(CpuBudget::Shared()); });
}

int ComputePools::ThreadsFor(int requested) const {
  return std::clamp(requested, 1, budget_->total());
}

ComputePools::Turn ComputePools::Acquire(int threads, CpuShare* share) {
  CpuLease lease = budget_->Acquire(ThreadsFor(threads), share);
  ggml_threadpool* pool = TakePool(lease.cores());
  return Turn(this, std::move(lease), pool);
}

ggml_threadpool* ComputePools::TakePool(int threads) {
  MutexLock lock(mu_);
  std::vector<ggml_threadpool*>& free = free_[threads];
  if (!free.empty()) {
    ggml_threadpool* pool = free.back();
    free.pop_back();
    return pool;
  }
  // At most total/threads pools of one size are ever in use at once (the budget sees to it).
  ggml_threadpool_params params = ggml_threadpool_params_default(threads);
  ggml_threadpool* pool = ggml_threadpool_new(&params);
  if (pool) all_.push_back(pool);
  else Log("llama")->error("ggml could not start a pool of {} threads", threads);
  return pool;  // null: llama.cpp then computes on a pool of its own for this step
}

void ComputePools::ReturnPool(int threads, ggml_threadpool* pool) {
  if (!pool) return;
  MutexLock lock(mu_);
  free_[threads].push_back(pool);
}

int ComputePools::pools_created() const {
  MutexLock lock(mu_);
  return static_cast<int>(all_.size());
}

ComputePools::Turn::~Turn() {
  if (owner_) owner_->ReturnPool(lease_.cores(), pool_);
  owner_ = nullptr;
}

int32_t ComputePools::Turn::Decode(llama_context* ctx, const llama_batch& batch, bool encode) {
  llama_attach_threadpool(ctx, pool_, nullptr);
  llama_set_n_threads(ctx, threads(), threads());
  const int32_t rc = encode ? llama_encode(ctx, batch) : llama_decode(ctx, batch);
  // The context must not keep a pool it no longer holds: another engine may compute on it next.
  llama_detach_threadpool(ctx);
  return rc;
}

}  // namespace modelrt::llama
