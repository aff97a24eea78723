// Softmax over the last axis, max-subtracted so large logits do not overflow.
#include <algorithm>
#include <limits>

#include "kernels/kernels.h"
#include "util/fast_math.h"
#include "util/thread_pool.h"

namespace tessera {

Tensor Softmax(const Tensor& xIn, const Tensor* outIn) {
  RequireCpu(xIn, "softmax x");
  if (xIn.Dim() < 1) FailType("softmax: x must have at least one dimension");
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const int64_t d = x.shape.back();
  const int64_t rows = d == 0 ? 0 : x.Numel() / d;
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = xp + r * d;
      float* dst = yp + r * d;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < d; ++i) mx = std::max(mx, row[i]);
      float sum = 0;
      for (int64_t i = 0; i < d; ++i) {
        dst[i] = FastExp(row[i] - mx);
        sum += dst[i];
      }
      const float inv = 1.0f / sum;
      for (int64_t i = 0; i < d; ++i) dst[i] *= inv;
    }
  });
  return out;
}

}  // namespace tessera
