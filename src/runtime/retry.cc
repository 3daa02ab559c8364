#include "runtime/retry.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace modelrt::internal {

namespace {

// A Backoff is made for every model call but draws only when the call is retried. Seeds come
// from one std::random_device per thread: constructing a random_device per call costs a CPUID
// (which hypervisors trap) or a /dev/urandom read, and it showed in every call's profile.
uint64_t JitterSeed() {
  thread_local std::mt19937_64 seeds{std::random_device{}()};
  return seeds();
}

}  // namespace

int MaxAttempts(const RetryPolicy& policy) { return std::max(1, policy.max_attempts); }

Backoff::Backoff(const RetryPolicy& policy) : Backoff(policy, JitterSeed()) {}

Backoff::Backoff(const RetryPolicy& policy, uint64_t seed) : policy_(policy), seed_(seed) {}

std::chrono::milliseconds Backoff::Ceiling() const {
  const int64_t initial = std::max<int64_t>(0, policy_.initial_backoff.count());
  const int64_t cap = std::max<int64_t>(initial, policy_.max_backoff.count());
  int64_t ceiling = initial;
  // Doubling stops at the cap, so the shift never overflows.
  for (int i = 0; i < retries_ && ceiling < cap; ++i) ceiling = std::min(cap, ceiling * 2);
  return std::chrono::milliseconds(std::min(ceiling, cap));
}

std::chrono::milliseconds Backoff::Next() {
  const int64_t ceiling = Ceiling().count();
  ++retries_;
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> pick(0, ceiling);
  if (!rng_) rng_.emplace(seed_);  // seeding the 2.5 KB state only when a retry happens
  return std::chrono::milliseconds(pick(*rng_));
}

bool SleepBeforeRetry(std::chrono::milliseconds delay, const CallContext& ctx) {
  const auto now = Clock::now();
  if (ctx.cancelled()) return false;
  if (ctx.deadline != Clock::time_point::max() && (ctx.deadline - now) <= delay) return false;
  // Woken by the cancel signal, not by polling the flag.
  struct Sleep {
    std::mutex mu;
    std::condition_variable cv;
    bool cancelled = false;
  };
  auto sleep = std::make_shared<Sleep>();
  const uint64_t key = ctx.cancel ? ctx.cancel->OnCancel([sleep] {
    {
      std::lock_guard<std::mutex> lock(sleep->mu);
      sleep->cancelled = true;
    }
    sleep->cv.notify_all();
  }) : 0;
  {
    std::unique_lock<std::mutex> lock(sleep->mu);
    sleep->cv.wait_until(lock, now + delay, [&] { return sleep->cancelled; });
  }
  if (key) ctx.cancel->Forget(key);
  return !ctx.cancelled() && !ctx.expired();
}

}  // namespace modelrt::internal
