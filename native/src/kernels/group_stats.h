// Mean and sum of squared deviations (M2) of a run of floats, two passes in double: GroupNorm's statistics,
// shared by the one-piece kernel (norm.cc) and the split one for patch-parallel decoding.
#pragma once

#include <cstdint>

namespace tessera {

struct MeanM2 {
  double mean;
  double m2;
};

inline MeanM2 MeanAndM2(const float* src, int64_t count) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += src[i];
  const double mean = count ? sum / static_cast<double>(count) : 0;
  double m2 = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = src[i] - mean;
    m2 += d * d;
  }
  return {mean, m2};
}

}  // namespace tessera
