#include "net/circuit_breaker.h"

namespace modelrt::net {

bool CircuitBreaker::Allow(Clock::time_point now) {
  MutexLock lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now < open_until_) return false;
      state_ = State::kHalfOpen;
      probe_out_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_out_) return false;
      probe_out_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  MutexLock lock(mu_);
  state_ = State::kClosed;
  failures_ = 0;
  probe_out_ = false;
}

void CircuitBreaker::RecordFailure(Clock::time_point now) {
  MutexLock lock(mu_);
  ++failures_;
  probe_out_ = false;
  const bool opens = state_ == State::kHalfOpen ||
                     (options_.failure_threshold > 0 && failures_ >= options_.failure_threshold);
  if (opens) {
    state_ = State::kOpen;
    open_until_ = now + options_.cool_down;
  }
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  MutexLock lock(mu_);
  // An open breaker whose cool-down is over would let the next call probe: report it as such.
  if (state_ == State::kOpen && now >= open_until_) return State::kHalfOpen;
  return state_;
}

std::chrono::milliseconds CircuitBreaker::RetryIn(Clock::time_point now) const {
  MutexLock lock(mu_);
  if (state_ != State::kOpen || now >= open_until_) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(open_until_ - now);
}

int CircuitBreaker::consecutive_failures() const {
  MutexLock lock(mu_);
  return failures_;
}

std::string_view ToString(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

}  // namespace modelrt::net
