// Kernels that keep a denoising step on the device: the Euler update, the CFG combine, Ring attention's
// log-sum-exp merge and the timestep embedding (host math in TypeScript before), and the fused chains of
// the transformer blocks (Linear+GELU, LayerNorm+modulate, per-head RMSNorm+RoPE into the joint sequence).
// Each runs where its first tensor lives: on the CPU they follow kernels.h's conventions (any input
// layout, contiguous f32 results, optional contiguous f32 `out`), on 'cuda' cuda_dispatch.h's (compute
// and result in the first input's dtype).
#pragma once

#include <napi.h>

#include <vector>

#include "tensor/tensor.h"

namespace tessera {

// out = x + alpha·y with the product rounded before the sum, as torch's `x + alpha * y` (the Euler step
// sample + dt·velocity). Same shapes; out may be x.
Tensor ScaledAdd(const Tensor& x, const Tensor& y, float alpha, const Tensor* out);

// out = uncond + scale·(cond − uncond), each operation rounded to float32. Same shapes; out may be uncond.
Tensor GuidanceCombine(const Tensor& uncond, const Tensor& cond, float scale, const Tensor* out);

// In place: folds a block's (out, lse) over disjoint keys into the running (acc, accLse). acc and
// blockOut [B, Sq, H, D], accLse and blockLse float32 [B, H, Sq]; acc and accLse contiguous, acc float32
// on the CPU (f32 or bf16 on the GPU).
void LseMerge(const Tensor& acc, const Tensor& accLse, const Tensor& blockOut, const Tensor& blockLse);

// diffusers get_timestep_embedding of `timesteps` (one per sample) → [B, channels] on `device` in
// `dtype` (f32 on the CPU). On the GPU the values travel as kernel arguments: no copy.
Tensor TimestepSinusoid(const std::vector<float>& timesteps, int64_t channels, bool flipSinToCos,
                        float downscaleFreqShift, float maxPeriod, Device device, DType dtype);

// LayerNorm(x) (no affine) · (1 + scale) + shift over the last axis; shift/scale [B, D] or [D].
Tensor LayerNormModulate(const Tensor& x, const Tensor& shift, const Tensor& scale, float eps, const Tensor* out);

// Per-head RMSNorm (weight [D] or none), then RoPE with rows outOffset + s of cos/sin [outSeq, D] (both
// or neither), written to tokens [outOffset, outOffset + S) of out [B, outSeq, H, D] (x is [B, S, H, D]).
// Without out: a new [B, S, H, D] and outOffset 0.
Tensor RmsNormRope(const Tensor& x, const Tensor* weight, const Tensor* cos, const Tensor* sin, float eps,
                   const Tensor* out, int64_t outOffset);

// GELU-tanh(x·wᵀ + b): one cuBLASLt call with its epilogue on the GPU, Linear then GELU on the CPU.
Tensor LinearGelu(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* out);

void RegisterStepKernels(Napi::Env env, Napi::Object exports);

}  // namespace tessera
