// Activations of the CLIP text encoders, computed with the C library's erf and exp rather than the fast
// approximations of activation.cc: they run once per prompt, and parity with transformers matters more.
#include <cmath>

#include "kernels/elementwise_map.h"
#include "kernels/pipeline_kernels.h"

namespace tessera {
namespace {

template <typename F>
Tensor Map(const Tensor& x, const Tensor* out, const char* name, F f) {
  return MapUnary(
      x, out, name,
      [f](const float* xp, float* yp, int64_t n) {
        for (int64_t i = 0; i < n; ++i) yp[i] = f(xp[i]);
      },
      int64_t{1} << 14);
}

}  // namespace

Tensor GeluErf(const Tensor& x, const Tensor* out) {
  return Map(x, out, "geluErf x", [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); });
}

Tensor QuickGelu(const Tensor& x, const Tensor* out) {
  return Map(x, out, "quickGelu x", [](float v) { return v / (1.0f + std::exp(-1.702f * v)); });
}

}  // namespace tessera
