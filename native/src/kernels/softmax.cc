// Softmax over the last axis, max-subtracted so large logits do not overflow.
#include <algorithm>
#include <limits>

#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/fast_math.h"
#include "util/simd.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

constexpr int kLanes = 16;

// Lane arrays keep the max and sum reductions vectorizable without -ffast-math.
TESSERA_SIMD void SoftmaxRow(const float* row, float* dst, int64_t d) {
  float lanes[kLanes];
  for (int i = 0; i < kLanes; ++i) lanes[i] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes) {
    for (int i = 0; i < kLanes; ++i) lanes[i] = std::max(lanes[i], row[j + i]);
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < kLanes; ++i) mx = std::max(mx, lanes[i]);
  for (; j < d; ++j) mx = std::max(mx, row[j]);
  float sums[kLanes] = {};
  j = 0;
  for (; j + kLanes <= d; j += kLanes) {
    for (int i = 0; i < kLanes; ++i) {
      dst[j + i] = FastExp(row[j + i] - mx);
      sums[i] += dst[j + i];
    }
  }
  float sum = 0;
  for (int i = 0; i < kLanes; ++i) sum += sums[i];
  for (; j < d; ++j) {
    dst[j] = FastExp(row[j] - mx);
    sum += dst[j];
  }
  const float inv = 1.0f / sum;
  for (j = 0; j < d; ++j) dst[j] *= inv;
}

}  // namespace

Tensor Softmax(const Tensor& xIn, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::Softmax(xIn, outIn);
  RequireCpu(xIn, "softmax x");
  if (xIn.Dim() < 1) FailType("softmax: x must have at least one dimension");
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const int64_t d = x.shape.back();
  const int64_t rows = d == 0 ? 0 : x.Numel() / d;
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) SoftmaxRow(xp + r * d, yp + r * d, d);
  });
  return out;
}

}  // namespace tessera
