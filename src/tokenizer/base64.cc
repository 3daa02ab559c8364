#include "tokenizer/base64.h"

#include <array>
#include <cstdint>

namespace modelrt::tokenizer {
namespace {

constexpr std::array<int8_t, 256> kValues = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int8_t i = 0; i < 64; ++i) values[static_cast<unsigned char>(alphabet[i])] = i;
  return values;
}();

}  // namespace

Result<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) {
    return InvalidArgumentError("not valid base64: length " + std::to_string(text.size()) +
                                " is not a multiple of 4");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    const int8_t value = kValues[static_cast<unsigned char>(text[i])];
    if (value < 0) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      const std::string shown =
          c >= 0x20 && c < 0x7F ? "'" + std::string(1, text[i]) + "'" : "byte " + std::to_string(c);
      return InvalidArgumentError("not valid base64: " + shown + " at offset " + std::to_string(i));
    }
    bits = bits << 6 | static_cast<uint32_t>(value);
    if (i % 4 == 3) {
      out.push_back(static_cast<char>(bits >> 16));
      out.push_back(static_cast<char>(bits >> 8));
      out.push_back(static_cast<char>(bits));
      bits = 0;
    }
  }
  // The last quantum's leftover bits: 2 padding characters leave 12 bits (one byte), 1 leaves
  // 18 (two bytes).
  if (padding == 2) out.push_back(static_cast<char>(bits >> 4));
  if (padding == 1) {
    out.push_back(static_cast<char>(bits >> 10));
    out.push_back(static_cast<char>(bits >> 2));
  }
  return out;
}

}  // namespace modelrt::tokenizer
