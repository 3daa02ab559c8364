#include "server/request_id.h"

#include <random>

namespace modelrt::server {
namespace {

std::string RandomHex(size_t digits) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  while (out.size() < digits) {
    uint64_t bits = engine();
    for (int i = 0; i < 16 && out.size() < digits; ++i, bits >>= 4) out += kHex[bits & 15];
  }
  return out;
}

}  // namespace

std::string RequestIdFor(std::string_view client_value) {
  bool usable = !client_value.empty() && client_value.size() <= 128;
  for (char c : client_value) usable = usable && c > 0x20 && c < 0x7f;
  if (usable) return std::string(client_value);
  return RandomHex(16);
}

std::string NewResponseId(std::string_view prefix) { return std::string(prefix) + RandomHex(24); }

}  // namespace modelrt::server
