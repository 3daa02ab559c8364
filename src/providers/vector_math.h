// Small vector helpers shared by the local embedding engines.
#pragma once

#include <cmath>
#include <vector>

namespace modelrt {

// Scales `v` to unit length (in double, so long vectors keep their precision); a zero vector
// stays zero.
inline void L2Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  if (sum <= 0) return;
  const double inv = 1.0 / std::sqrt(sum);
  for (float& x : v) x = static_cast<float>(x * inv);
}

}  // namespace modelrt
