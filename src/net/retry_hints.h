// When to try an upstream call again: which answers are worth a retry, the waits upstreams ask
// for (`retry-after-ms`, `Retry-After` in seconds or as an HTTP date, Gemini's
// `RetryInfo.retryDelay`), and exponential backoff with full jitter.
//
//   if (IsRetryableStatus(status)) {
//     milliseconds wait = Backoff(attempt, {100ms, 2s}, rng);
//     if (auto asked = UpstreamRetryDelay(headers_lookup, now)) wait = *asked;   // upstream wins
//     if (Clock::now() + wait > deadline) { /* answer 429/503 now, with our own Retry-After */ }
//   }
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string_view>

namespace modelrt::net {

// 408, 429, 500, 502, 503, 504 and 529 (Anthropic's "overloaded"); never another 4xx.
bool IsRetryableStatus(int status);

// `Retry-After`: delta-seconds ("120") or an HTTP date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37
// GMT", the obsolete RFC 850 and asctime forms too), as a wait from `now` (0 for a date in the
// past). nullopt when it parses as neither.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// `retry-after-ms` (Azure OpenAI, OpenAI): a number of milliseconds, possibly fractional.
std::optional<std::chrono::milliseconds> ParseRetryAfterMs(std::string_view value);

// A google.protobuf.Duration in JSON ("1.5s", "30s"), as Gemini's RetryInfo.retryDelay.
std::optional<std::chrono::milliseconds> ParseProtoDuration(std::string_view value);

// An HTTP date in any of the three forms of RFC 9110 5.6.7; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view value);

// The wait an upstream asked for, from its headers: `retry-after-ms` before `Retry-After` (it is
// the more precise of the two when both are sent). `header` returns a header's value or nullopt.
std::optional<std::chrono::milliseconds> UpstreamRetryDelay(
    const std::function<std::optional<std::string_view>(std::string_view name)>& header,
    std::chrono::system_clock::time_point now);

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{2000};
};

// Full jitter: uniform in [0, min(max, initial * 2^(attempt-1))] for attempt >= 1 (the first
// retry), so that clients that failed together do not retry together.
std::chrono::milliseconds Backoff(int attempt, const BackoffPolicy& policy, std::mt19937_64& rng);

}  // namespace modelrt::net
