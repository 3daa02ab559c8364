// CircuitBreaker: opens after consecutive failures, lets one probe through after the cool-down,
// closes on its success and reopens on its failure. Time is passed in, so no test sleeps.
#include "net/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace modelrt::net {
namespace {

using std::chrono::milliseconds;
using State = CircuitBreaker::State;

TEST(CircuitBreakerTest, OpensProbesAndRecovers) {
  CircuitBreaker breaker({.failure_threshold = 3, .cool_down = milliseconds(1000)});
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow(t0));
    breaker.RecordFailure(t0);
  }
  EXPECT_EQ(breaker.state(t0), State::kClosed);
  breaker.RecordSuccess();  // a success in between resets the count
  for (int i = 0; i < 3; ++i) breaker.RecordFailure(t0);
  EXPECT_EQ(breaker.state(t0), State::kOpen);
  EXPECT_FALSE(breaker.Allow(t0 + milliseconds(999)));
  EXPECT_EQ(breaker.RetryIn(t0 + milliseconds(400)), milliseconds(600));

  const Clock::time_point t1 = t0 + milliseconds(1000);
  EXPECT_EQ(breaker.state(t1), State::kHalfOpen);
  EXPECT_TRUE(breaker.Allow(t1)) << "the probe";
  EXPECT_FALSE(breaker.Allow(t1)) << "one probe at a time";
  breaker.RecordFailure(t1);  // the probe failed: open for another cool-down
  EXPECT_EQ(breaker.state(t1), State::kOpen);
  EXPECT_FALSE(breaker.Allow(t1 + milliseconds(999)));

  const Clock::time_point t2 = t1 + milliseconds(1000);
  EXPECT_TRUE(breaker.Allow(t2));
  breaker.RecordSuccess();
  EXPECT_EQ(breaker.state(t2), State::kClosed);
  EXPECT_EQ(breaker.consecutive_failures(), 0);
  EXPECT_TRUE(breaker.Allow(t2));
  EXPECT_TRUE(breaker.Allow(t2)) << "closed: every call goes";
}

TEST(CircuitBreakerTest, ThresholdZeroNeverOpens) {
  CircuitBreaker breaker({.failure_threshold = 0});
  const Clock::time_point now = Clock::now();
  for (int i = 0; i < 100; ++i) breaker.RecordFailure(now);
  EXPECT_TRUE(breaker.Allow(now));
  EXPECT_EQ(ToString(breaker.state(now)), "closed");
}

TEST(CircuitBreakerTest, ExactlyOneProbeAmongConcurrentCallers) {
  CircuitBreaker breaker({.failure_threshold = 1, .cool_down = milliseconds(10)});
  const Clock::time_point t0 = Clock::now();
  breaker.RecordFailure(t0);
  std::atomic<int> allowed{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (breaker.Allow(t0 + milliseconds(10))) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(allowed.load(), 1);
}

}  // namespace
}  // namespace modelrt::net
