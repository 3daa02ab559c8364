#include "core/tool_call_id.h"

#include <random>

namespace modelrt {

std::string NewToolCallId() {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id.push_back(kHex[rng() & 15]);
  return id;
}

}  // namespace modelrt
