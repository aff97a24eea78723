// Element-wise activations (f32). In place when out is x.
#include "kernels/cuda_dispatch.h"
#include "kernels/elementwise_map.h"
#include "kernels/kernels.h"
#include "util/fast_math.h"
#include "util/simd.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
TESSERA_SIMD void GeluRange(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    y[i] = 0.5f * v * (1.0f + FastTanh(u));
  }
}

// SiLU: x·σ(x).
TESSERA_SIMD void SiluRange(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + FastExp(-x[i]));
}

}  // namespace

Tensor GeluTanh(const Tensor& x, const Tensor* out) {
  if (gpu::On(x)) return gpu::GeluTanh(x, out);
  return MapUnary(x, out, "gelu x", GeluRange);
}

Tensor Silu(const Tensor& x, const Tensor* out) {
  if (gpu::On(x)) return gpu::Silu(x, out);
  return MapUnary(x, out, "silu x", SiluRange);
}

}  // namespace tessera
