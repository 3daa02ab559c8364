#include "core/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/shared_while_held.h"

namespace modelrt {

CpuLease::CpuLease(CpuLease&& other) noexcept : budget_(other.budget_), cores_(other.cores_) {
  other.budget_ = nullptr;
  other.cores_ = 0;
}

CpuLease& CpuLease::operator=(CpuLease&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = other.budget_;
    cores_ = other.cores_;
    other.budget_ = nullptr;
    other.cores_ = 0;
  }
  return *this;
}

CpuLease::~CpuLease() { Release(); }

void CpuLease::Release() {
  if (budget_) budget_->Release(cores_);
  budget_ = nullptr;
  cores_ = 0;
}

CpuBudget::CpuBudget(int cores) : total_(std::max(cores, 1)) {}

std::shared_ptr<CpuBudget> CpuBudget::Shared() {
  return SharedWhileHeld<CpuBudget>([] { return std::make_shared<CpuBudget>(MachineCores()); });
}

int CpuBudget::MachineCores() {
  if (const char* env = std::getenv("MODELRT_CPU_CORES")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 4096) return static_cast<int>(n);
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(CPU_COUNT(&set), 1);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

CpuLease CpuBudget::Acquire(int cores) {
  cores = std::clamp(cores, 1, total_);
  MutexLock lock(mu_);
  const uint64_t ticket = next_ticket_++;
  cv_.wait(lock.native(), [&]() NO_THREAD_SAFETY_ANALYSIS {
    return serving_ == ticket && in_use_ + cores <= total_;
  });
  in_use_ += cores;
  ++serving_;
  ++leases_;
  // The next in line may fit in what is left.
  cv_.notify_all();
  return CpuLease(this, cores);
}

void CpuBudget::Release(int cores) {
  {
    MutexLock lock(mu_);
    in_use_ -= cores;
  }
  cv_.notify_all();
}

CpuBudget::Stats CpuBudget::stats() const {
  MutexLock lock(mu_);
  return {in_use_, static_cast<int>(next_ticket_ - serving_), leases_};
}

}  // namespace modelrt
