// CPU side of step_kernels.h. The fused chains are the unfused CPU kernels run back to back, so the CPU
// result of a fused op equals the one of the chain it replaces, bit for bit.
#include "kernels/step_kernels.h"

#include <cmath>

#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

// a·b rounded to float32 and kept apart from the following add: the compiler may otherwise contract
// a·b + c into one fused multiply-add (GCC does for C++ by default), which rounds once and drifts from
// torch in the last bit. The empty asm makes the product a value the optimiser cannot look through.
inline float RoundedProduct(float a, float b) {
  float p = a * b;
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+x"(p));
#elif defined(__aarch64__)
  __asm__("" : "+w"(p));
#else
  volatile float v = p;
  p = v;
#endif
  return p;
}

constexpr int64_t kGrain = 1 << 15;

void RequireSameShape(const Tensor& a, const Tensor& b, const char* what) {
  if (a.shape != b.shape) FailType(std::string(what) + ": shapes differ: " + a.Describe() + " and " + b.Describe());
}

}  // namespace

namespace {
// out[i] = f(a[i], b[i]) over two same-shaped CPU tensors read as f32.
template <typename F>
Tensor Pointwise(const Tensor& aIn, const Tensor& bIn, const Tensor* outIn, const char* what, F f) {
  RequireCpu(aIn, what);
  RequireCpu(bIn, what);
  RequireSameShape(aIn, bIn, what);
  Tensor out = PrepareOut(outIn, aIn.shape);
  const Tensor a = AsF32(aIn), b = AsF32(bIn);
  const float* ap = a.F32();
  const float* bp = b.F32();
  float* op = out.F32();
  ParallelFor(out.Numel(), kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) op[i] = f(ap[i], bp[i]);
  });
  return out;
}
}  // namespace

Tensor ScaledAdd(const Tensor& x, const Tensor& y, float alpha, const Tensor* out) {
  if (gpu::On(x)) return gpu::ScaledAdd(x, y, alpha, out);
  return Pointwise(x, y, out, "scaledAdd", [alpha](float a, float b) { return a + RoundedProduct(alpha, b); });
}

Tensor GuidanceCombine(const Tensor& uncond, const Tensor& cond, float scale, const Tensor* out) {
  if (!std::isfinite(scale)) FailType("guidanceCombine: guidance scale must be a finite number");
  if (gpu::On(uncond)) return gpu::GuidanceCombine(uncond, cond, scale, out);
  return Pointwise(uncond, cond, out, "guidanceCombine", [scale](float u, float c) { return u + RoundedProduct(scale, c - u); });
}

void LseMerge(const Tensor& acc, const Tensor& accLse, const Tensor& blockOut, const Tensor& blockLse) {
  if (acc.Dim() != 4) FailType("lseMerge: out must be [B, Sq, H, D], got " + acc.Describe());
  const int64_t b = acc.Size(0), sq = acc.Size(1), h = acc.Size(2), d = acc.Size(3);
  RequireSameShape(acc, blockOut, "lseMerge out and block out");
  RequireShape(accLse, {b, h, sq}, "lseMerge lse");
  RequireShape(blockLse, {b, h, sq}, "lseMerge block lse");
  if (gpu::On(acc)) return gpu::LseMerge(acc, accLse, blockOut, blockLse);
  for (const Tensor* t : {&acc, &accLse, &blockOut, &blockLse}) RequireCpu(*t, "lseMerge");
  if (acc.dtype != DType::F32 || !acc.IsContiguous()) FailType("lseMerge: out must be contiguous f32 on the CPU");
  if (accLse.dtype != DType::F32 || !accLse.IsContiguous()) FailType("lseMerge: lse must be contiguous f32");
  const Tensor ob = AsF32(blockOut), lb = AsF32(blockLse);
  float* o = acc.F32();
  float* l = accLse.F32();
  const float* obp = ob.F32();
  const float* lbp = lb.F32();
  // In double, as the TypeScript merge it replaces: the weights of two nearly equal lse values cancel.
  ParallelFor(b * sq * h, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t hi = r % h, t = (r / h) % sq, bi = r / (h * sq);
      const int64_t li = (bi * h + hi) * sq + t;
      const double a = l[li], c = lbp[li];
      const double m = std::max(a, c);
      if (m == -INFINITY) continue;  // neither side saw a key
      const double wa = std::exp(a - m), wc = std::exp(c - m), sum = wa + wc;
      l[li] = static_cast<float>(m + std::log(sum));
      const double fa = wa / sum, fc = wc / sum;
      float* row = o + r * d;
      const float* brow = obp + r * d;
      for (int64_t k = 0; k < d; ++k) row[k] = static_cast<float>(fa * row[k] + fc * brow[k]);
    }
  });
}

Tensor TimestepSinusoid(const std::vector<float>& timesteps, int64_t channels, bool flip, float shift, float maxPeriod,
                        Device device, DType dtype) {
  if (channels < 2 || channels % 2 != 0) FailType("timestepSinusoid: channels must be even and ≥ 2");
  if (!(maxPeriod > 1.0f)) FailType("timestepSinusoid: maxPeriod must be > 1");
  const int64_t half = channels / 2;
  const float denominator = static_cast<float>(half) - shift;
  if (!(denominator > 0.0f)) FailType("timestepSinusoid: downscaleFreqShift must be below channels / 2");
  const int64_t batch = static_cast<int64_t>(timesteps.size());
  if (device == Device::Cuda) return gpu::TimestepSinusoid(timesteps, channels, flip, shift, maxPeriod, dtype);
  if (dtype != DType::F32) FailType("timestepSinusoid: the CPU computes f32");
  Tensor out = Empty({batch, channels}, DType::F32);
  float* op = out.F32();
  // torch's float32 roundings: −ln(max_period) to float32, times j, divided, exp, times t.
  const float negLogPeriod = static_cast<float>(-std::log(static_cast<double>(maxPeriod)));
  for (int64_t j = 0; j < half; ++j) {
    const float exponent = RoundedProduct(negLogPeriod, static_cast<float>(j)) / denominator;
    const float omega = static_cast<float>(std::exp(static_cast<double>(exponent)));
    for (int64_t bi = 0; bi < batch; ++bi) {
      const float arg = RoundedProduct(timesteps[static_cast<std::size_t>(bi)], omega);
      float* row = op + bi * channels;
      const float c = static_cast<float>(std::cos(static_cast<double>(arg)));
      const float s = static_cast<float>(std::sin(static_cast<double>(arg)));
      row[flip ? j : half + j] = c;
      row[flip ? half + j : j] = s;
    }
  }
  return out;
}

Tensor LayerNormModulate(const Tensor& x, const Tensor& shift, const Tensor& scale, float eps, const Tensor* outIn) {
  if (gpu::On(x)) return gpu::LayerNormModulate(x, shift, scale, eps, outIn);
  Tensor out = LayerNorm(x, nullptr, nullptr, eps, outIn);
  return Modulate(out, shift, scale, &out);
}

Tensor RmsNormRope(const Tensor& x, const Tensor* weight, const Tensor* cos, const Tensor* sin, float eps,
                   const Tensor* outIn, int64_t outOffset) {
  if ((cos == nullptr) != (sin == nullptr)) FailType("rmsNormRope: give cos and sin together, or neither");
  if (x.Dim() != 4) FailType("rmsNormRope: x must be [B, S, H, D], got " + x.Describe());
  const int64_t b = x.Size(0), s = x.Size(1), h = x.Size(2), d = x.Size(3);
  const int64_t outSeq = outIn ? (outIn->Dim() == 4 ? outIn->Size(1) : -1) : s;
  if (outIn && (outIn->Dim() != 4 || outIn->Size(0) != b || outIn->Size(2) != h || outIn->Size(3) != d)) {
    FailType("rmsNormRope: out must be [" + std::to_string(b) + ", S, " + std::to_string(h) + ", " + std::to_string(d) +
             "], got " + outIn->Describe());
  }
  if (outOffset < 0 || outOffset > outSeq || s > outSeq - outOffset) {
    FailType("rmsNormRope: tokens [" + std::to_string(outOffset) + ", " + std::to_string(outOffset + s) +
             ") do not fit an output of " + std::to_string(outSeq) + " tokens");
  }
  if (cos) {
    RequireShape(*cos, {outSeq, d}, "rmsNormRope cos");
    RequireShape(*sin, {outSeq, d}, "rmsNormRope sin");
  }
  if (gpu::On(x)) return gpu::RmsNormRope(x, weight, cos, sin, eps, outIn, outOffset);
  Tensor normed = RmsNorm(x, weight, eps, nullptr);
  Tensor out = outIn ? *outIn : Empty(x.shape, DType::F32);
  if (outIn) RequireOut(out, out.shape);
  Tensor place = Narrow(out, 1, outOffset, s);
  if (cos) {
    const Tensor c = Narrow(*cos, 0, outOffset, s), sn = Narrow(*sin, 0, outOffset, s);
    if (place.IsContiguous()) {
      Rope(normed, c, sn, &place);
    } else {
      Rope(normed, c, sn, &normed);
      CopyInto(normed, place);
    }
  } else {
    CopyInto(normed, place);
  }
  return out;
}

Tensor LinearGelu(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* outIn) {
  if (gpu::On(x)) return gpu::LinearGelu(x, w, bias, outIn);
  Tensor out = Linear(x, w, bias, outIn);
  return GeluTanh(out, &out);
}

}  // namespace tessera
