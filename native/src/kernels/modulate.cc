// AdaLN building blocks. x is [B, ..., D]; the conditioning vectors are per sample ([B, D]) or shared
// ([1, D] or [D]). Both run in place when out is x.
#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

// Returns the f32 data of a per-sample vector and whether it is shared by all samples.
const float* SampleVector(const Tensor& t, int64_t batch, int64_t d, const char* name, Tensor& holder, bool& shared) {
  RequireCpu(t, name);
  if (t.Numel() == d && (t.Dim() == 1 || (t.Dim() == 2 && t.Size(0) == 1))) {
    shared = true;
  } else if (t.Dim() == 2 && t.Size(0) == batch && t.Size(1) == d) {
    shared = false;
  } else {
    FailType(std::string(name) + ": expected [" + std::to_string(batch) + ", " + std::to_string(d) + "] or [" +
             std::to_string(d) + "], got " + t.Describe());
  }
  holder = AsF32(t);
  return holder.F32();
}

template <typename F>
Tensor PerSample(const Tensor& xIn, const Tensor* outIn, const char* name, F body) {
  RequireCpu(xIn, name);
  if (xIn.Dim() < 2) FailType(std::string(name) + ": must be [B, ..., D], got " + xIn.Describe());
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const int64_t batch = x.Size(0), d = x.shape.back();
  const int64_t tokens = batch == 0 || d == 0 ? 0 : x.Numel() / (batch * d);
  body(x, out, batch, tokens, d);
  return out;
}

}  // namespace

Tensor Modulate(const Tensor& xIn, const Tensor& shiftIn, const Tensor& scaleIn, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::Modulate(xIn, shiftIn, scaleIn, outIn);
  return PerSample(xIn, outIn, "modulate x", [&](const Tensor& x, Tensor& out, int64_t batch, int64_t tokens, int64_t d) {
    Tensor sh, sc;
    bool shiftShared = false, scaleShared = false;
    const float* shift = SampleVector(shiftIn, batch, d, "modulate shift", sh, shiftShared);
    const float* scale = SampleVector(scaleIn, batch, d, "modulate scale", sc, scaleShared);
    const float* xp = x.F32();
    float* yp = out.F32();
    ParallelFor(batch * tokens, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t sample = r / tokens;
        const float* s0 = shift + (shiftShared ? 0 : sample * d);
        const float* s1 = scale + (scaleShared ? 0 : sample * d);
        const float* src = xp + r * d;
        float* dst = yp + r * d;
        for (int64_t i = 0; i < d; ++i) dst[i] = src[i] * (1.0f + s1[i]) + s0[i];
      }
    });
  });
}

Tensor GatedResidual(const Tensor& xIn, const Tensor& gateIn, const Tensor& yIn, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::GatedResidual(xIn, gateIn, yIn, outIn);
  RequireCpu(yIn, "gatedResidual y");
  RequireShape(yIn, xIn.shape, "gatedResidual y");
  return PerSample(xIn, outIn, "gatedResidual x", [&](const Tensor& x, Tensor& out, int64_t batch, int64_t tokens, int64_t d) {
    Tensor gh;
    bool gateShared = false;
    const float* gate = SampleVector(gateIn, batch, d, "gatedResidual gate", gh, gateShared);
    const Tensor y = AsF32(yIn);
    const float* xp = x.F32();
    const float* ypIn = y.F32();
    float* op = out.F32();
    ParallelFor(batch * tokens, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* g = gate + (gateShared ? 0 : (r / tokens) * d);
        for (int64_t i = 0; i < d; ++i) op[r * d + i] = xp[r * d + i] + g[i] * ypIn[r * d + i];
      }
    });
  });
}

}  // namespace tessera
