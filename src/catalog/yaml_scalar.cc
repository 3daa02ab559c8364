// Plain-scalar typing for YAML (core schema); see yaml_scalar.h.
#include "catalog/yaml_scalar.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/json.h"

namespace modelrt::catalog {
namespace {

bool AllOf(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int IsOctal(int c) { return c >= '0' && c <= '7'; }

// [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+ (YAML 1.2 core).
std::optional<Json> ParseInteger(std::string_view s) {
  int base = 10;
  bool negative = false;
  std::string_view digits = s;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    base = s[1] == 'x' ? 16 : 8;
    digits = s.substr(2);
    if (!AllOf(digits, base == 16 ? isxdigit : IsOctal)) return std::nullopt;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits = digits.substr(1);
    }
    if (!AllOf(digits, isdigit)) return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec == std::errc() && end == digits.data() + digits.size()) {
    constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
    if (!negative && magnitude <= kMaxPositive) return Json(static_cast<int64_t>(magnitude));
    if (!negative) return Json(magnitude);
    if (magnitude <= kMaxPositive + 1) {
      // -(2^63) does not fit the positive range, so negate in unsigned arithmetic.
      return Json(static_cast<int64_t>(~magnitude + 1));
    }
  }
  // Past every integer range. A decimal keeps its magnitude approximately, as other YAML
  // parsers do; a 70-bit hex or octal literal is no config value, so it stays text.
  if (base != 10) return Json(std::string(s));
  std::string_view unsigned_text = s[0] == '+' ? s.substr(1) : s;  // from_chars rejects '+'
  double value = 0;
  std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), value);
  return Json(value);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool LooksLikeFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

std::optional<Json> ParseFloat(std::string_view s) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    return Json(kInf);
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return Json(-kInf);
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    return Json(std::numeric_limits<double>::quiet_NaN());
  }
  if (!LooksLikeFloat(s)) return std::nullopt;
  // from_chars rejects a leading '+'; the grammar above allows it.
  std::string_view unsigned_part = s[0] == '+' ? s.substr(1) : s;
  double value = 0;
  auto [end, ec] =
      std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), value);
  if (end != unsigned_part.data() + unsigned_part.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    return Json(unsigned_part[0] == '-' ? -kInf : kInf);
  }
  return Json(value);
}

}  // namespace

Json ResolvePlainScalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Json(nullptr);
  }
  if (text == "true" || text == "True" || text == "TRUE") return Json(true);
  if (text == "false" || text == "False" || text == "FALSE") return Json(false);
  if (auto integer = ParseInteger(text)) return *integer;
  if (auto number = ParseFloat(text)) return *number;
  return Json(std::string(text));
}

}  // namespace modelrt::catalog
