// CircuitBreaker: stops sending calls to an upstream that keeps failing, for one provider and
// upstream model. Closed: calls go through; `failure_threshold` failures in a row open it. Open:
// calls are refused at once (the caller falls back or answers 503 with Retry-After) until
// `cool_down` has passed. Half-open: one probe call goes through; its success closes the breaker,
// its failure opens it for another cool-down.
//
//   if (!breaker.Allow(now)) return UnavailableError("upstream circuit open");
//   Result<X> r = Call();
//   r.ok() ? breaker.RecordSuccess() : breaker.RecordFailure(now);
//
// Only failures that say the upstream is unwell count (connection errors, timeouts, 5xx, 429);
// the caller decides that. Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <string_view>

#include "core/thread_annotations.h"
#include "modelrt/model.h"

namespace modelrt::net {

class CircuitBreaker {
 public:
  struct Options {
    int failure_threshold = 5;  // consecutive failures that open it; <= 0 = never opens
    std::chrono::milliseconds cool_down = std::chrono::seconds(10);
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(Options options) : options_(options) {}

  // True when a call may go upstream now. Once the cool-down is over, the first caller gets the
  // probe (half-open) and the others are refused until it reports.
  bool Allow(Clock::time_point now);
  void RecordSuccess();
  void RecordFailure(Clock::time_point now);

  State state(Clock::time_point now) const;
  // How long until an open breaker lets a probe through (0 when it is not open).
  std::chrono::milliseconds RetryIn(Clock::time_point now) const;
  int consecutive_failures() const;

 private:
  const Options options_;
  mutable Mutex mu_;
  State state_ GUARDED_BY(mu_) = State::kClosed;
  int failures_ GUARDED_BY(mu_) = 0;
  Clock::time_point open_until_ GUARDED_BY(mu_);
  bool probe_out_ GUARDED_BY(mu_) = false;
};

std::string_view ToString(CircuitBreaker::State state);  // "closed", "open", "half_open"

}  // namespace modelrt::net
