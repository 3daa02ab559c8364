// Retry hints: which answers to retry, the waits upstreams ask for, and full-jitter backoff.
#include "net/retry_hints.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace modelrt::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

// 1994-11-06 08:49:37 UTC, the date of RFC 9110's examples.
const system_clock::time_point kRfcDate = system_clock::from_time_t(784111777);

TEST(RetryHintsTest, RetryableStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504, 529}) EXPECT_TRUE(IsRetryableStatus(status));
  for (int status : {200, 400, 401, 403, 404, 409, 413, 422, 501, 505}) {
    EXPECT_FALSE(IsRetryableStatus(status)) << status;
  }
}

TEST(RetryHintsTest, HttpDatesInAllThreeForms) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcDate);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcDate);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), kRfcDate);
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37", "Sun, 6 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                          "yesterday", "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    EXPECT_FALSE(ParseHttpDate(bad).has_value()) << bad;
  }
}

TEST(RetryHintsTest, RetryAfterInSecondsOrAsADate) {
  EXPECT_EQ(ParseRetryAfter("120", kRfcDate), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", kRfcDate), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", kRfcDate), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:00 GMT", kRfcDate), milliseconds(0))
      << "a date in the past means now";
  for (const char* bad : {"", "-1", "1.5", "soon", "99999999999"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, kRfcDate).has_value()) << bad;
  }
}

TEST(RetryHintsTest, MillisecondsAndProtoDurations) {
  EXPECT_EQ(ParseRetryAfterMs("250"), milliseconds(250));
  EXPECT_EQ(ParseRetryAfterMs("20.2"), milliseconds(21)) << "rounded up, never early";
  EXPECT_EQ(ParseProtoDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseProtoDuration("30s"), milliseconds(30000));
  EXPECT_EQ(ParseProtoDuration("0.0001s"), milliseconds(1));
  for (const char* bad : {"", "s", "1.5", "-1s", "1e3s", "nans", "1.2.3s", ".5s"}) {
    EXPECT_FALSE(ParseProtoDuration(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseRetryAfterMs("inf").has_value());
}

TEST(RetryHintsTest, UpstreamDelayPrefersMilliseconds) {
  std::map<std::string, std::string> headers = {{"retry-after", "2"}, {"retry-after-ms", "1500"}};
  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(UpstreamRetryDelay(lookup, kRfcDate), milliseconds(1500));
  headers["retry-after-ms"] = "garbage";
  EXPECT_EQ(UpstreamRetryDelay(lookup, kRfcDate), milliseconds(2000)) << "falls back to seconds";
  headers.clear();
  EXPECT_FALSE(UpstreamRetryDelay(lookup, kRfcDate).has_value());
}

TEST(RetryHintsTest, FullJitterStaysUnderTheGrowingCap) {
  std::mt19937_64 rng(7);
  const BackoffPolicy policy{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(Backoff(0, policy, rng), milliseconds(0));
  for (int attempt = 1; attempt <= 40; ++attempt) {
    const int64_t cap = std::min<int64_t>(1000, int64_t{100} << std::min(attempt - 1, 30));
    milliseconds most(0);
    for (int i = 0; i < 200; ++i) {
      milliseconds wait = Backoff(attempt, policy, rng);
      ASSERT_GE(wait.count(), 0);
      ASSERT_LE(wait.count(), cap) << "attempt " << attempt;
      most = std::max(most, wait);
    }
    EXPECT_GT(most.count(), cap / 2) << "the waits spread over the range, attempt " << attempt;
  }
}

}  // namespace
}  // namespace modelrt::net
