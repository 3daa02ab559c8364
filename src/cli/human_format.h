// Small formatters for what the CLI shows people: sizes in MiB, ages ("12s ago"), durations,
// and the server's RFC 3339 timestamps turned back into seconds since the epoch.
//
//   FormatMiB(3 << 20)                          // "3.0 MiB"
//   FormatAgo(75)                               // "1m ago"
//   ParseUtcTimestamp("2026-11-25T23:01:02Z")   // 1795647662
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::cli {

// Bytes as MiB: one decimal below 100 MiB ("0.4 MiB", "12.3 MiB"), whole numbers above
// ("2048 MiB"). Negative input is shown as 0.
std::string FormatMiB(int64_t bytes);

// Seconds elapsed as the largest whole unit: "0s ago", "59s ago", "1m ago", "3h ago", "2d ago".
// A negative age (the server's clock is ahead of ours) reads as "0s ago".
std::string FormatAgo(int64_t seconds);

// Milliseconds as "340 ms" below a second, then "2.1 s", then "3m 05s".
std::string FormatDurationMs(int64_t ms);

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)" to seconds since the epoch (the fraction is
// dropped). InvalidArgument for anything else.
Result<int64_t> ParseUtcTimestamp(std::string_view text);

}  // namespace modelrt::cli
