// Small helpers every target uses; header-only, so a target links nothing for them.
//
//   extern "C" int LLVMFuzzerInitialize(int*, char***) { modelrt::fuzz::QuietLogs(); return 0; }
//   for (std::string_view piece : modelrt::fuzz::Chunks(stream, seed)) parser.Feed(piece, ...);
//
// Thread-safety: free functions over values.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/logging.h"

namespace modelrt::fuzz {

// Silences the library's logs (a config warning per input would drown libFuzzer's output).
inline void QuietLogs() { SetLogLevel("off"); }

// Cuts `data` into pieces whose sizes follow `seed` (1..64 bytes; seed 0: all at once), so a
// stream parser sees its input split everywhere a network could split it.
inline std::vector<std::string_view> Chunks(std::string_view data, uint8_t seed) {
  std::vector<std::string_view> out;
  if (seed == 0) {
    if (!data.empty()) out.push_back(data);
    return out;
  }
  uint32_t state = seed;
  while (!data.empty()) {
    state = state * 1103515245u + 12345u;
    size_t n = std::min<size_t>(data.size(), 1 + (state >> 16) % 64);
    out.push_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

// `depth` nested arrays around `inner`: with 60,000 levels (120 KB, well inside any body limit)
// a recursive copy or dump of the parsed value overflows an 8 MiB stack. The targets that take
// JSON from outside run such inputs once at start (libFuzzer itself stays with short inputs).
inline std::string Nested(int depth, std::string_view inner = "1") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

// A broken invariant: print it and abort, so libFuzzer keeps the input as a crash.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace modelrt::fuzz
