// Rotary position embedding on interleaved pairs, as Flux applies it: with (x0, x1) = (x[2i], x[2i+1]),
//   out[2i]   = x0·cos[2i]   − x1·sin[2i]
//   out[2i+1] = x1·cos[2i+1] + x0·sin[2i+1]
// cos/sin are [S, D] tables (each frequency repeated twice), shared by all batches and heads.
#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {

Tensor Rope(const Tensor& xIn, const Tensor& cosIn, const Tensor& sinIn, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::Rope(xIn, cosIn, sinIn, outIn);
  RequireCpu(xIn, "rope x");
  RequireCpu(cosIn, "rope cos");
  RequireCpu(sinIn, "rope sin");
  if (xIn.Dim() != 4) FailType("rope: x must be [B, S, H, D], got " + xIn.Describe());
  const int64_t batch = xIn.Size(0), seq = xIn.Size(1), heads = xIn.Size(2), d = xIn.Size(3);
  if (d % 2 != 0) FailType("rope: head size " + std::to_string(d) + " must be even");
  RequireShape(cosIn, {seq, d}, "rope cos");
  RequireShape(sinIn, {seq, d}, "rope sin");
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn), c = AsF32(cosIn), s = AsF32(sinIn);
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(batch * seq, std::max<int64_t>(1, 8192 / std::max<int64_t>(heads * d, 1)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t pos = t % seq;
      const float* cp = c.F32() + pos * d;
      const float* sp = s.F32() + pos * d;
      for (int64_t h = 0; h < heads; ++h) {
        const float* src = xp + (t * heads + h) * d;
        float* dst = yp + (t * heads + h) * d;
        for (int64_t i = 0; i < d; i += 2) {
          const float x0 = src[i], x1 = src[i + 1];
          dst[i] = x0 * cp[i] - x1 * sp[i];
          dst[i + 1] = x1 * cp[i + 1] + x0 * sp[i + 1];
        }
      }
    }
  });
  return out;
}

}  // namespace tessera
