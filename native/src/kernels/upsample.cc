// Nearest-neighbour upsampling by integer factors (the VAE's Upsample2D uses ×2).
#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {

Tensor UpsampleNearest(const Tensor& xIn, int64_t factorH, int64_t factorW, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::UpsampleNearest(xIn, factorH, factorW, outIn);
  RequireCpu(xIn, "upsampleNearest x");
  if (xIn.Dim() != 4) FailType("upsampleNearest: x must be [N, C, H, W], got " + xIn.Describe());
  if (factorH < 1 || factorW < 1) FailType("upsampleNearest: factors must be ≥ 1");
  const int64_t planes = xIn.Size(0) * xIn.Size(1), h = xIn.Size(2), w = xIn.Size(3);
  Tensor out = PrepareOut(outIn, {xIn.Size(0), xIn.Size(1), h * factorH, w * factorW});
  RequireNoAlias(out, xIn, "x");
  const Tensor x = AsF32(xIn);
  const int64_t ow = w * factorW;
  ParallelFor(planes * h, std::max<int64_t>(1, 8192 / std::max<int64_t>(ow, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* src = x.F32() + r * w;
      float* first = out.F32() + r * factorH * ow;
      for (int64_t i = 0; i < ow; ++i) first[i] = src[i / factorW];
      for (int64_t k = 1; k < factorH; ++k) std::copy(first, first + ow, first + k * ow);
    }
  });
  return out;
}

}  // namespace tessera
