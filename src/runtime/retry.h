// Retry helpers for model calls: exponential backoff with full jitter, and a sleep that never
// outlives the call's deadline.
//
//   Backoff backoff(spec.retry);
//   for (int attempt = 1; ; ++attempt) {
//     Status s = Try();
//     if (s.ok() || !IsRetryable(s) || attempt >= MaxAttempts(spec.retry)) return s;
//     if (!SleepBeforeRetry(backoff.Next(), ctx)) return s;  // deadline or cancel first
//   }
//
// Thread-safety: Backoff is not thread-safe (one per call); the free functions are.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "modelrt/catalog.h"
#include "modelrt/model.h"

namespace modelrt::internal {

// Total tries a policy allows (at least 1).
int MaxAttempts(const RetryPolicy& policy);

// "Full jitter": the n-th delay is uniform in [0, min(max_backoff, initial_backoff * 2^(n-1))].
// Jitter keeps many callers that failed together from retrying together.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy);
  Backoff(const RetryPolicy& policy, uint64_t seed);

  // The delay before the next retry.
  std::chrono::milliseconds Next();
  // The upper bound Next() draws from now (before jitter), for logs and tests.
  std::chrono::milliseconds Ceiling() const;

 private:
  RetryPolicy policy_;
  int retries_ = 0;
  uint64_t seed_;
  std::optional<std::mt19937_64> rng_;
};

// Sleeps `delay` unless the retry could not start before ctx's deadline, or ctx gets cancelled
// meanwhile. Returns true when the caller should retry. Never sleeps past the deadline.
bool SleepBeforeRetry(std::chrono::milliseconds delay, const CallContext& ctx);

}  // namespace modelrt::internal
