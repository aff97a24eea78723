// CPU kernels. Inputs may have any layout and dtype (they are read as f32, converting only when needed);
// results are contiguous f32. Every kernel takes an optional `out`: a contiguous f32 tensor of the result's
// shape that is written instead of allocating (element-wise kernels allow out to be an input: in place).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace tessera {

// `out` if given (checked), else a fresh tensor.
Tensor PrepareOut(const Tensor* out, const Shape& shape);
// Kernels that read inputs after writing out refuse an out that shares an input's storage.
void RequireNoAlias(const Tensor& out, const Tensor& input, const char* inputName);

// ---- linear.cc: OpenBLAS sgemm ----
// y[..., N] = x[..., K] · w[N, K]ᵀ + b[N]  (PyTorch nn.Linear layout)
Tensor Linear(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* out);
// c[..., M, N] = a[..., M, K] · b[..., K, N] (b may be 2-D and shared by every batch); transposeB reads
// b as [..., N, K].
Tensor Matmul(const Tensor& a, const Tensor& b, bool transposeB, const Tensor* out);

// ---- norm.cc: over the last axis (LayerNorm, RMSNorm) or channel groups (GroupNorm, [N, C, ...]) ----
Tensor LayerNorm(const Tensor& x, const Tensor* weight, const Tensor* bias, float eps, const Tensor* out);
Tensor RmsNorm(const Tensor& x, const Tensor* weight, float eps, const Tensor* out);
Tensor GroupNorm(const Tensor& x, int64_t groups, const Tensor* weight, const Tensor* bias, float eps,
                 const Tensor* out);

// ---- activation.cc ----
Tensor GeluTanh(const Tensor& x, const Tensor* out);
Tensor Silu(const Tensor& x, const Tensor* out);

// ---- softmax.cc: over the last axis ----
Tensor Softmax(const Tensor& x, const Tensor* out);

// ---- attention.cc: non-causal multi-head attention, layout [B, S, H, D] ----
// q [B, Sq, H, D], k and v [B, Sk, H, D] → out [B, Sq, H, D]; lse (optional, [B, H, Sq]) receives
// log Σ_j exp(scale · q·k_j) per query and head, for merging partial results (Ring attention).
Tensor Attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Tensor* out,
                 const Tensor* lse);

// ---- rope.cc: rotary embedding on interleaved pairs (2i, 2i+1); x [B, S, H, D], cos/sin [S, D] ----
Tensor Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor* out);

// ---- modulate.cc: AdaLN pieces; x [B, ..., D], per-sample vectors [B, D] (or [1, D] / [D]) ----
Tensor Modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, const Tensor* out);  // x·(1+scale)+shift
Tensor GatedResidual(const Tensor& x, const Tensor& gate, const Tensor& y, const Tensor* out);   // x + gate·y

// ---- elementwise.cc: NumPy broadcasting ----
enum class BinaryOp { Add, Sub, Mul, Div };
Tensor Binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor* out);
Tensor Affine(const Tensor& x, float mul, float add, const Tensor* out);  // x·mul + add

// ---- layout.cc ----
// Concatenates along `axis` keeping the common dtype (a layout operation, no compute).
Tensor Concat(const std::vector<Tensor>& parts, int64_t axis);

// ---- conv.cc: x [N, C, H, W], w [O, C, kh, kw], bias [O] ----
Tensor Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, int64_t strideH, int64_t strideW,
              int64_t padH, int64_t padW, const Tensor* out);

// ---- upsample.cc: nearest neighbour by integer factors, x [N, C, H, W] ----
Tensor UpsampleNearest(const Tensor& x, int64_t factorH, int64_t factorW, const Tensor* out);

}  // namespace tessera
