// Normalisations. Statistics accumulate in double: rows are long (3072+) and the tests compare against
// float64 references, so the mean/variance must not drift with row length.
#include <cmath>

#include "kernels/cuda_dispatch.h"
#include "kernels/group_stats.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

const float* OptionalVector(const Tensor* t, int64_t size, const char* name, Tensor& holder) {
  if (t == nullptr) return nullptr;
  RequireCpu(*t, name);
  RequireShape(*t, {size}, name);
  holder = AsF32(*t);
  return holder.F32();
}

int64_t RowGrain(int64_t width) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(width, 1)); }

// Layer and RMS norm normalise each row of the last dimension on its own: `normalise(row, dst)` runs
// once per row of x (read as f32), the rows split across the pool, into outIn or a fresh tensor.
template <typename RowFn>
Tensor NormaliseRows(const Tensor& xIn, int64_t d, const Tensor* outIn, RowFn normalise) {
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const int64_t rows = d == 0 ? 0 : x.Numel() / d;
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(rows, RowGrain(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) normalise(xp + r * d, yp + r * d);
  });
  return out;
}

}  // namespace

Tensor LayerNorm(const Tensor& xIn, const Tensor* weightIn, const Tensor* biasIn, float eps, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::LayerNorm(xIn, weightIn, biasIn, eps, outIn);
  RequireCpu(xIn, "layerNorm x");
  if (xIn.Dim() < 1) FailType("layerNorm: x must have at least one dimension");
  const int64_t d = xIn.shape.back();
  Tensor wHold, bHold;
  const float* w = OptionalVector(weightIn, d, "layerNorm weight", wHold);
  const float* b = OptionalVector(biasIn, d, "layerNorm bias", bHold);
  return NormaliseRows(xIn, d, outIn, [&](const float* row, float* dst) {
    double sum = 0;
    for (int64_t i = 0; i < d; ++i) sum += row[i];
    const double mean = sum / static_cast<double>(d);
    double sq = 0;
    for (int64_t i = 0; i < d; ++i) {
      const double c = row[i] - mean;
      sq += c * c;
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(d) + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < d; ++i) {
      float v = (row[i] - m) * inv;
      if (w != nullptr) v *= w[i];
      if (b != nullptr) v += b[i];
      dst[i] = v;
    }
  });
}

Tensor RmsNorm(const Tensor& xIn, const Tensor* weightIn, float eps, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::RmsNorm(xIn, weightIn, eps, outIn);
  RequireCpu(xIn, "rmsNorm x");
  if (xIn.Dim() < 1) FailType("rmsNorm: x must have at least one dimension");
  const int64_t d = xIn.shape.back();
  Tensor wHold;
  const float* w = OptionalVector(weightIn, d, "rmsNorm weight", wHold);
  return NormaliseRows(xIn, d, outIn, [&](const float* row, float* dst) {
    double sq = 0;
    for (int64_t i = 0; i < d; ++i) sq += static_cast<double>(row[i]) * row[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(d) + eps));
    for (int64_t i = 0; i < d; ++i) dst[i] = w != nullptr ? row[i] * inv * w[i] : row[i] * inv;
  });
}

Tensor GroupNorm(const Tensor& xIn, int64_t groups, const Tensor* weightIn, const Tensor* biasIn, float eps,
                 const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::GroupNorm(xIn, groups, weightIn, biasIn, eps, outIn);
  RequireCpu(xIn, "groupNorm x");
  if (xIn.Dim() < 2) FailType("groupNorm: x must be [N, C, ...], got " + xIn.Describe());
  const int64_t n = xIn.Size(0), c = xIn.Size(1);
  if (groups <= 0 || c % groups != 0) {
    FailType("groupNorm: groups (" + std::to_string(groups) + ") must divide the channel count " + std::to_string(c));
  }
  Tensor wHold, bHold;
  const float* w = OptionalVector(weightIn, c, "groupNorm weight", wHold);
  const float* b = OptionalVector(biasIn, c, "groupNorm bias", bHold);
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const int64_t spatial = c == 0 || n == 0 ? 0 : x.Numel() / (n * c);
  const int64_t perGroup = c / groups;
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(n * groups, 1, [&](int64_t g0, int64_t g1) {
    for (int64_t ng = g0; ng < g1; ++ng) {
      const int64_t g = ng % groups;
      const int64_t count = perGroup * spatial;
      const float* src = xp + ng * count;  // groups are contiguous runs of channels
      float* dst = yp + ng * count;
      const MeanM2 stats = MeanAndM2(src, count);
      const float inv = static_cast<float>(1.0 / std::sqrt((count ? stats.m2 / static_cast<double>(count) : 0) + eps));
      const float m = static_cast<float>(stats.mean);
      for (int64_t ch = 0; ch < perGroup; ++ch) {
        const int64_t channel = g * perGroup + ch;
        const float scale = w != nullptr ? w[channel] * inv : inv;
        const float shift = b != nullptr ? b[channel] : 0.0f;
        const float* s = src + ch * spatial;
        float* o = dst + ch * spatial;
        for (int64_t i = 0; i < spatial; ++i) o[i] = (s[i] - m) * scale + shift;
      }
    }
  });
  return out;
}

}  // namespace tessera
