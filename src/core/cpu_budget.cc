#include "core/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "core/cgroup_cpu.h"
#include "core/shared_while_held.h"

namespace modelrt {

CpuLease::CpuLease(CpuLease&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)),
      cores_(std::exchange(other.cores_, 0)),
      share_(std::exchange(other.share_, nullptr)),
      start_(other.start_) {}

CpuLease& CpuLease::operator=(CpuLease&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    cores_ = std::exchange(other.cores_, 0);
    share_ = std::exchange(other.share_, nullptr);
    start_ = other.start_;
  }
  return *this;
}

CpuLease::~CpuLease() { Release(); }

void CpuLease::Release() {
  if (budget_) budget_->Release(cores_, share_, start_);
  budget_ = nullptr;
  cores_ = 0;
  share_ = nullptr;
}

namespace {
int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

CpuBudget::CpuBudget(int cores, Clock clock)
    : total_(std::max(cores, 1)), clock_(clock ? std::move(clock) : Clock(SteadyNanos)) {}

std::shared_ptr<CpuBudget> CpuBudget::Shared() {
  return SharedWhileHeld<CpuBudget>([] { return std::make_shared<CpuBudget>(MachineCores()); });
}

int CpuBudget::MachineCores() {
  if (const char* env = std::getenv("MODELRT_CPU_CORES")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 4096) return static_cast<int>(n);
  }
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = std::max(CPU_COUNT(&set), 1);
  // A container's CPU limit is a quota, not a mask: without this a replica limited to 2 cores
  // on a 64-core machine would size its thread pools for 64.
  if (std::optional<int> limit = CgroupCpuLimit()) cores = std::min(cores, *limit);
  return cores;
}

CpuLease CpuBudget::Acquire(int cores, CpuShare* share) {
  cores = std::clamp(cores, 1, total_);
  MutexLock lock(mu_);
  // Idle time earns little credit: a share that fell behind starts at most kIdleCredit before
  // the last one served (enough to make up for a turn missed by being descheduled).
  int64_t used = floor_;
  if (share) used = share->used_ = std::max(share->used_, floor_ - kIdleCredit);
  Waiter self{cores, share, used, next_ticket_++};
  waiting_.push_back(&self);
  GrantLocked();
  while (!self.granted) {
    if (!held_for_) {
      cv_.wait(lock.native());
      continue;
    }
    // Cores are held for an engine that may not come back: give up the hold at its end.
    if (cv_.wait_until(lock.native(), held_until_) == std::cv_status::timeout &&
        held_for_ && std::chrono::steady_clock::now() >= held_until_) {
      held_for_ = nullptr;
      GrantLocked();
    }
  }
  return CpuLease(this, cores, share, clock_());
}

void CpuBudget::GrantLocked() {
  bool granted = false;
  while (!waiting_.empty()) {
    auto next = std::min_element(waiting_.begin(), waiting_.end(), [](Waiter* a, Waiter* b) {
      return a->used != b->used ? a->used < b->used : a->ticket < b->ticket;
    });
    if (held_for_) {  // the cores wait for an engine that is behind (kGrace)
      const CpuShare* held = held_for_;
      next = std::find_if(waiting_.begin(), waiting_.end(),
                          [held](const Waiter* w) { return w->share == held; });
      if (next == waiting_.end()) break;
    }
    Waiter* w = *next;
    if (in_use_ + w->cores > total_) break;  // nobody overtakes the head of the line
    held_for_ = nullptr;
    in_use_ += w->cores;
    floor_ = std::max(floor_, w->used);
    ++leases_;
    w->granted = true;
    waiting_.erase(next);
    granted = true;
  }
  if (granted) cv_.notify_all();
}

void CpuBudget::Release(int cores, CpuShare* share, int64_t start) {
  const int64_t now = clock_();
  MutexLock lock(mu_);
  in_use_ -= cores;
  if (share) {
    share->used_ += std::max<int64_t>(now - start, 0) * cores;
    // Behind the next waiter: it will ask again at once if it has work; hold its cores.
    const bool behind = std::any_of(waiting_.begin(), waiting_.end(),
                                    [&](const Waiter* w) { return w->used > share->used_; });
    if (behind && !held_for_) {
      held_for_ = share;
      held_until_ = std::chrono::steady_clock::now() + kGrace;
      cv_.notify_all();  // waiters now wait with the hold's deadline
    }
  }
  GrantLocked();
}

CpuBudget::Stats CpuBudget::stats() const {
  MutexLock lock(mu_);
  return {in_use_, static_cast<int>(waiting_.size()), leases_};
}

}  // namespace modelrt
