// Naming the fallback alias that answered a request (ModelSpec::fallbacks): the response's
// `model` field says it, and so does this header.
#pragma once

#include <optional>
#include <string>

namespace modelrt::server {

inline constexpr const char* kServedByHeader = "x-modelrt-served-by";

// The alias that served a call (a result's served_by) when it is not `alias`, the one asked for.
inline std::optional<std::string> FallbackThatServed(const std::string& served_by,
                                                     const std::string& alias) {
  if (served_by.empty() || served_by == alias) return std::nullopt;
  return served_by;
}

}  // namespace modelrt::server
