// Element-wise activations (f32). In place when out is x.
#include "kernels/kernels.h"
#include "util/fast_math.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename F>
Tensor MapUnary(const Tensor& xIn, const Tensor* outIn, const char* name, F f) {
  RequireCpu(xIn, name);
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(x.Numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = f(xp[i]);
  });
  return out;
}

}  // namespace

// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
Tensor GeluTanh(const Tensor& x, const Tensor* out) {
  return MapUnary(x, out, "gelu x", [](float v) {
    const float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    return 0.5f * v * (1.0f + FastTanh(u));
  });
}

// SiLU: x·σ(x).
Tensor Silu(const Tensor& x, const Tensor* out) {
  return MapUnary(x, out, "silu x", [](float v) { return v / (1.0f + FastExp(-v)); });
}

}  // namespace tessera
