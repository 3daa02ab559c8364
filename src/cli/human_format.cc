#include "cli/human_format.h"

#include <cstdio>
#include <ctime>

namespace modelrt::cli {
namespace {

// Reads exactly `digits` decimal digits at `pos`; false when they are not there.
bool ReadNumber(std::string_view text, size_t& pos, int digits, int& out) {
  if (pos + digits > text.size()) return false;
  out = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += digits;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::string FormatMiB(int64_t bytes) {
  const double mib = bytes < 0 ? 0.0 : static_cast<double>(bytes) / (1024.0 * 1024.0);
  char buf[48];
  if (mib < 99.95) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", mib);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f MiB", mib);
  }
  return buf;
}

std::string FormatAgo(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return std::to_string(seconds) + "s ago";
  if (seconds < 3600) return std::to_string(seconds / 60) + "m ago";
  if (seconds < 86400) return std::to_string(seconds / 3600) + "h ago";
  return std::to_string(seconds / 86400) + "d ago";
}

std::string FormatDurationMs(int64_t ms) {
  if (ms < 0) ms = 0;
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof(buf), "%lld ms", static_cast<long long>(ms));
  } else if (ms < 60000) {
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ms) / 1000.0);
  } else {
    const long long s = ms / 1000;
    std::snprintf(buf, sizeof(buf), "%lldm %02llds", s / 60, s % 60);
  }
  return buf;
}

Result<int64_t> ParseUtcTimestamp(std::string_view text) {
  auto invalid = [&] {
    return InvalidArgumentError("not an RFC 3339 timestamp: '" + std::string(text) + "'");
  };
  std::tm tm{};
  int year, month, day, hour, minute, second;
  size_t pos = 0;
  if (!ReadNumber(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadNumber(text, pos, 2, month) || !Expect(text, pos, '-') ||
      !ReadNumber(text, pos, 2, day) || pos >= text.size() ||
      (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return invalid();
  }
  ++pos;
  if (!ReadNumber(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadNumber(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadNumber(text, pos, 2, second)) {
    return invalid();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return invalid();
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return invalid();
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!ReadNumber(text, pos, 2, oh) || !Expect(text, pos, ':') || !ReadNumber(text, pos, 2, om) ||
        oh > 23 || om > 59) {
      return invalid();
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return invalid();
  }
  if (pos != text.size()) return invalid();
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) - offset_s;
}

}  // namespace modelrt::cli
