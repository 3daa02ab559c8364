// Backoff with full jitter and the deadline-aware retry sleep.
#include "runtime/retry.h"

#include <gtest/gtest.h>

#include <set>

namespace modelrt::internal {
namespace {

using namespace std::chrono_literals;

TEST(BackoffTest, CeilingDoublesUpToTheMax) {
  RetryPolicy policy{.max_attempts = 10, .initial_backoff = 100ms, .max_backoff = 700ms};
  Backoff backoff(policy, /*seed=*/1);
  const int64_t expected[] = {100, 200, 400, 700, 700, 700};
  for (int64_t ceiling : expected) {
    EXPECT_EQ(backoff.Ceiling().count(), ceiling);
    auto delay = backoff.Next();
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay.count(), ceiling);
  }
}

TEST(BackoffTest, DelaysAreJittered) {
  RetryPolicy policy{.max_attempts = 3, .initial_backoff = 1000ms, .max_backoff = 1000ms};
  Backoff backoff(policy, /*seed=*/7);
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) seen.insert(backoff.Next().count());
  EXPECT_GT(seen.size(), 5u);  // full jitter: spread over [0, 1000], not one fixed value
}

TEST(BackoffTest, MaxAttemptsIsAtLeastOne) {
  EXPECT_EQ(MaxAttempts(RetryPolicy{.max_attempts = 0}), 1);
  EXPECT_EQ(MaxAttempts(RetryPolicy{.max_attempts = 4}), 4);
}

TEST(SleepBeforeRetryTest, SleepsWhenTheDeadlineAllows) {
  CallContext ctx = CallContext::WithTimeout(5s);
  EXPECT_TRUE(SleepBeforeRetry(5ms, ctx));
  EXPECT_TRUE(SleepBeforeRetry(0ms, CallContext{}));
}

TEST(SleepBeforeRetryTest, RefusesToSleepPastTheDeadline) {
  CallContext ctx = CallContext::WithTimeout(5s);
  EXPECT_FALSE(SleepBeforeRetry(10s, ctx));
  EXPECT_LT(Clock::now(), ctx.deadline);  // it returned at once instead of sleeping
}

TEST(SleepBeforeRetryTest, CancelledContextDoesNotRetry) {
  CallContext ctx;
  ctx.Cancel();
  EXPECT_FALSE(SleepBeforeRetry(1ms, ctx));
}

}  // namespace
}  // namespace modelrt::internal
