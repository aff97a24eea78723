// The 'cuda' side of every kernel: when the first tensor argument lives on the GPU, kernels.h's entry
// points call these, which run the CUDA backend's kernels (native/src/cuda, libtessera_cuda.so).
// On the GPU the compute dtype is x's dtype (f32, or bf16 with f32 accumulation; f16 is not supported),
// other inputs are converted to it, and the result has it too. Inputs must be on the GPU; `out` must be
// a contiguous GPU tensor of the result's shape and dtype.
#pragma once

#include <vector>

#include "kernels/kernels.h"

namespace tessera::gpu {

inline bool On(const Tensor& t) { return t.storage && t.GetDevice() == Device::Cuda; }

// Copies between devices, or within the GPU (dtype conversion, strided → contiguous).
void CopyInto(const Tensor& src, const Tensor& dst);
Tensor ToDevice(const Tensor& t, Device device);  // contiguous copy on `device`, same dtype
Tensor Dense(const Tensor& t, DType dtype);        // contiguous GPU tensor of `dtype` (t itself if it is)

Tensor Linear(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* out);
Tensor Matmul(const Tensor& a, const Tensor& b, bool transposeB, const Tensor* out);
Tensor LayerNorm(const Tensor& x, const Tensor* weight, const Tensor* bias, float eps, const Tensor* out);
Tensor RmsNorm(const Tensor& x, const Tensor* weight, float eps, const Tensor* out);
Tensor GroupNorm(const Tensor& x, int64_t groups, const Tensor* weight, const Tensor* bias, float eps, const Tensor* out);
Tensor GeluTanh(const Tensor& x, const Tensor* out);
Tensor Silu(const Tensor& x, const Tensor* out);
Tensor Softmax(const Tensor& x, const Tensor* out);
Tensor Attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Tensor* out, const Tensor* lse);
Tensor Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor* out);
Tensor Modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, const Tensor* out);
Tensor GatedResidual(const Tensor& x, const Tensor& gate, const Tensor& y, const Tensor* out);
Tensor Binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor* out);
Tensor Affine(const Tensor& x, float mul, float add, const Tensor* out);
Tensor Concat(const std::vector<Tensor>& parts, int64_t axis);
Tensor Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, int64_t strideH, int64_t strideW, int64_t padH,
              int64_t padW, const Tensor* out);
Tensor UpsampleNearest(const Tensor& x, int64_t factorH, int64_t factorW, const Tensor* out);

// step_kernels.h's ops; shapes are checked by their CPU entry points before they get here.
Tensor ScaledAdd(const Tensor& x, const Tensor& y, float alpha, const Tensor* out);
Tensor GuidanceCombine(const Tensor& uncond, const Tensor& cond, float scale, const Tensor* out);
void LseMerge(const Tensor& acc, const Tensor& accLse, const Tensor& blockOut, const Tensor& blockLse);
Tensor TimestepSinusoid(const std::vector<float>& timesteps, int64_t channels, bool flipSinToCos, float downscaleFreqShift,
                        float maxPeriod, DType dtype);
Tensor LayerNormModulate(const Tensor& x, const Tensor& shift, const Tensor& scale, float eps, const Tensor* out);
Tensor RmsNormRope(const Tensor& x, const Tensor* weight, const Tensor* cos, const Tensor* sin, float eps, const Tensor* out,
                   int64_t outOffset);
Tensor LinearGelu(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* out);

// Which attention implementation the GPU ops use: cuDNN's flash attention for the bf16 shapes it covers,
// the backend's own kernel otherwise (TESSERA_ATTENTION=native forces the own kernel everywhere). The
// reason the last call could not use cuDNN, or "" when it did.
std::string AttentionFallbackReason();

}  // namespace tessera::gpu
