// Trimming ASCII spaces and tabs (HTTP's optional whitespace) off both ends of a view.
#pragma once

#include <string_view>

namespace modelrt {

inline std::string_view TrimAsciiSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

}  // namespace modelrt
