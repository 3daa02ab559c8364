#include "net/retry_hints.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

#include "core/ascii_trim.h"

namespace modelrt::net {

namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// The longest wait an upstream may ask for that we take as meant (a year).
constexpr double kMaxWaitSeconds = 365.0 * 24 * 3600;

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Reads exactly `width` digits (or 1..width when `width` is negative) from the front of `s`.
bool ReadNumber(std::string_view& s, int width, int* out) {
  const size_t most = static_cast<size_t>(std::abs(width));
  size_t n = 0;
  while (n < s.size() && n < most && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0 || (width > 0 && n != most)) return false;
  std::from_chars(s.data(), s.data() + n, *out);
  s.remove_prefix(n);
  return true;
}

bool Expect(std::string_view& s, std::string_view text) {
  if (!s.starts_with(text)) return false;
  s.remove_prefix(text.size());
  return true;
}

bool ReadMonth(std::string_view& s, int* month) {
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (s.starts_with(kMonths[i])) {
      *month = static_cast<int>(i);
      s.remove_prefix(3);
      return true;
    }
  }
  return false;
}

// A plain non-negative decimal ("1.5", "30"): no sign, exponent, hex, inf or nan.
std::optional<double> ParseDecimal(std::string_view value) {
  std::string_view s = TrimAsciiSpace(value);
  if (s.empty() || s.front() == '.' || s.back() == '.') return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) ||
      std::count(s.begin(), s.end(), '.') > 1) {
    return std::nullopt;
  }
  return std::stod(std::string(s));
}

bool ReadClock(std::string_view& s, std::tm* tm) {
  return ReadNumber(s, 2, &tm->tm_hour) && Expect(s, ":") && ReadNumber(s, 2, &tm->tm_min) &&
         Expect(s, ":") && ReadNumber(s, 2, &tm->tm_sec);
}

std::optional<system_clock::time_point> ToTimePoint(std::tm tm) {
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits (years 1678 to 2262): from_time_t overflows, which
  // is undefined, for a year such as 1530 or 9999. No Retry-After means a date outside this.
  constexpr time_t kLatest = 7'258'118'400;  // 2200-01-01T00:00:00Z
  if (t < 0 || t >= kLatest) return std::nullopt;
  return system_clock::from_time_t(t);
}

}  // namespace

bool IsRetryableStatus(int status) {
  switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
    case 529:
      return true;
    default:
      return false;
  }
}

std::optional<system_clock::time_point> ParseHttpDate(std::string_view value) {
  std::string_view s = TrimAsciiSpace(value);
  std::tm tm{};
  const size_t comma = s.find(',');
  if (comma == 3) {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    s.remove_prefix(4);
    if (!Expect(s, " ") || !ReadNumber(s, 2, &tm.tm_mday) || !Expect(s, " ") ||
        !ReadMonth(s, &tm.tm_mon) || !Expect(s, " ") || !ReadNumber(s, 4, &tm.tm_year) ||
        !Expect(s, " ") || !ReadClock(s, &tm) || !Expect(s, " GMT") || !s.empty()) {
      return std::nullopt;
    }
    tm.tm_year -= 1900;
    return ToTimePoint(tm);
  }
  if (comma != std::string_view::npos && comma > 3) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    s.remove_prefix(comma + 1);
    if (!Expect(s, " ") || !ReadNumber(s, 2, &tm.tm_mday) || !Expect(s, "-") ||
        !ReadMonth(s, &tm.tm_mon) || !Expect(s, "-") || !ReadNumber(s, 2, &tm.tm_year) ||
        !Expect(s, " ") || !ReadClock(s, &tm) || !Expect(s, " GMT") || !s.empty()) {
      return std::nullopt;
    }
    // Two-digit years: RFC 9110 says one more than 50 years ahead is in the past century.
    if (tm.tm_year < 70) tm.tm_year += 100;
    return ToTimePoint(tm);
  }
  // asctime: "Sun Nov  6 08:49:37 1994" (the day padded with a space).
  if (s.size() < 4 || s[3] != ' ') return std::nullopt;
  s.remove_prefix(4);
  if (!ReadMonth(s, &tm.tm_mon) || !Expect(s, " ")) return std::nullopt;
  if (s.starts_with(" ")) s.remove_prefix(1);
  if (!ReadNumber(s, -2, &tm.tm_mday) || !Expect(s, " ") || !ReadClock(s, &tm) || !Expect(s, " ") ||
      !ReadNumber(s, 4, &tm.tm_year) || !s.empty()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  return ToTimePoint(tm);
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value, system_clock::time_point now) {
  std::string_view s = TrimAsciiSpace(value);
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seconds = 0;
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), seconds);
    if (error != std::errc() || seconds > kMaxWaitSeconds) return std::nullopt;
    return milliseconds(seconds * 1000);
  }
  std::optional<system_clock::time_point> date = ParseHttpDate(s);
  if (!date) return std::nullopt;
  if (*date <= now) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(*date - now);
}

std::optional<milliseconds> ParseRetryAfterMs(std::string_view value) {
  std::optional<double> ms = ParseDecimal(value);
  if (!ms || *ms > kMaxWaitSeconds * 1000) return std::nullopt;
  return milliseconds(static_cast<int64_t>(std::ceil(*ms)));
}

std::optional<milliseconds> ParseProtoDuration(std::string_view value) {
  std::string_view s = TrimAsciiSpace(value);
  if (!s.ends_with('s')) return std::nullopt;
  s.remove_suffix(1);
  std::optional<double> seconds = ParseDecimal(s);
  if (!seconds || *seconds > kMaxWaitSeconds) return std::nullopt;
  return milliseconds(static_cast<int64_t>(std::ceil(*seconds * 1000)));
}

std::optional<milliseconds> UpstreamRetryDelay(
    const std::function<std::optional<std::string_view>(std::string_view name)>& header,
    system_clock::time_point now) {
  if (std::optional<std::string_view> ms = header("retry-after-ms")) {
    if (auto parsed = ParseRetryAfterMs(*ms)) return parsed;
  }
  if (std::optional<std::string_view> after = header("retry-after")) {
    return ParseRetryAfter(*after, now);
  }
  return std::nullopt;
}

milliseconds Backoff(int attempt, const BackoffPolicy& policy, std::mt19937_64& rng) {
  if (attempt < 1) return milliseconds(0);
  const int64_t initial = std::max<int64_t>(0, policy.initial.count());
  const int64_t cap = std::max<int64_t>(0, policy.max.count());
  const int shift = std::min(attempt - 1, 30);
  const int64_t ceiling = std::min(cap, initial << shift);
  std::uniform_int_distribution<int64_t> pick(0, ceiling);
  return milliseconds(pick(rng));
}

}  // namespace modelrt::net
