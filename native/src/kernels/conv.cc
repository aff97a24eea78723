// 2-D convolution as im2col + GEMM (cpu::Gemm). The column buffer covers a band of output rows at a time
// so that a VAE layer at 1024² (128 channels × 9 taps × 1M pixels) never needs gigabytes of scratch.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

constexpr int64_t kColumnBudgetFloats = 8 << 20;  // 32 MiB of im2col scratch at most

}  // namespace

Tensor Conv2d(const Tensor& xIn, const Tensor& wIn, const Tensor* biasIn, int64_t strideH, int64_t strideW,
              int64_t padH, int64_t padW, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::Conv2d(xIn, wIn, biasIn, strideH, strideW, padH, padW, outIn);
  RequireCpu(xIn, "conv2d x");
  RequireCpu(wIn, "conv2d weight");
  if (xIn.Dim() != 4) FailType("conv2d: x must be [N, C, H, W], got " + xIn.Describe());
  if (wIn.Dim() != 4) FailType("conv2d: weight must be [O, C, kh, kw], got " + wIn.Describe());
  if (strideH < 1 || strideW < 1 || padH < 0 || padW < 0) FailType("conv2d: stride must be ≥ 1 and padding ≥ 0");
  const int64_t n = xIn.Size(0), c = xIn.Size(1), h = xIn.Size(2), w = xIn.Size(3);
  const int64_t o = wIn.Size(0), kh = wIn.Size(2), kw = wIn.Size(3);
  if (wIn.Size(1) != c) FailType("conv2d: weight " + wIn.Describe() + " expects " + std::to_string(wIn.Size(1)) + " input channels, x has " + std::to_string(c));
  if (biasIn != nullptr) RequireShape(*biasIn, {o}, "conv2d bias");
  const int64_t ho = (h + 2 * padH - kh) / strideH + 1, wo = (w + 2 * padW - kw) / strideW + 1;
  if (h + 2 * padH < kh || w + 2 * padW < kw || ho <= 0 || wo <= 0) {
    FailType("conv2d: kernel " + std::to_string(kh) + "×" + std::to_string(kw) + " does not fit input " + xIn.Describe());
  }
  Tensor out = PrepareOut(outIn, {n, o, ho, wo});
  RequireNoAlias(out, xIn, "x");
  if (out.Numel() == 0) return out;
  const Tensor x = AsF32(xIn);
  const Tensor wt = Contiguous(wIn);  // read in its own dtype (bf16 VAE weights stay bf16)
  const cpu::Operand weights{wt.Raw(), cpu::ElemOf(wt.dtype), c * kh * kw, 1};
  Tensor bias;
  if (biasIn != nullptr) bias = AsF32(*biasIn);
  const int64_t taps = c * kh * kw;
  const int64_t bandRows = std::max<int64_t>(1, std::min(ho, kColumnBudgetFloats / std::max<int64_t>(taps * wo, 1)));
  const bool pointwise = kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0;
  std::vector<float> columns(pointwise ? 0 : static_cast<std::size_t>(taps * bandRows * wo));

  for (int64_t b = 0; b < n; ++b) {
    const float* src = x.F32() + b * c * h * w;
    float* dst = out.F32() + b * o * ho * wo;
    if (biasIn != nullptr) {
      for (int64_t oc = 0; oc < o; ++oc) std::fill(dst + oc * ho * wo, dst + (oc + 1) * ho * wo, bias.F32()[oc]);
    }
    const bool withBias = biasIn != nullptr;
    if (pointwise) {
      cpu::Gemm(o, h * w, c, weights, cpu::Operand{src, cpu::Elem::F32, h * w, 1}, dst, h * w, withBias);
      continue;
    }
    for (int64_t r0 = 0; r0 < ho; r0 += bandRows) {
      const int64_t rows = std::min(bandRows, ho - r0);
      const int64_t cols = rows * wo;
      float* col = columns.data();
      // columns[tap, pixel] for the pixels of output rows [r0, r0 + rows).
      ParallelFor(taps, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t ch = t / (kh * kw), ky = (t / kw) % kh, kx = t % kw;
          float* line = col + t * cols;
          for (int64_t r = 0; r < rows; ++r) {
            const int64_t iy = (r0 + r) * strideH - padH + ky;
            float* seg = line + r * wo;
            if (iy < 0 || iy >= h) {
              std::fill(seg, seg + wo, 0.0f);
              continue;
            }
            const float* in = src + (ch * h + iy) * w;
            for (int64_t xo = 0; xo < wo; ++xo) {
              const int64_t ix = xo * strideW - padW + kx;
              seg[xo] = ix >= 0 && ix < w ? in[ix] : 0.0f;
            }
          }
        }
      });
      cpu::Gemm(o, cols, taps, weights, cpu::Operand{col, cpu::Elem::F32, cols, 1}, dst + r0 * wo, ho * wo, withBias);
    }
  }
  return out;
}

}  // namespace tessera
