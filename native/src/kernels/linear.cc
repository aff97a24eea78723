// GEMM-backed kernels over cpu::Gemm (the dispatcher's kernels). Weights and the second matmul operand
// are read in their own dtype and layout: bf16/f16 values are widened to f32 while their panels are
// packed, so a bf16 checkpoint is never converted whole, and transposed views are never copied.
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

// The [rows × cols] matrix formed by the last two axes of t (from element `offset` of its storage view),
// read as is; transposed swaps the two axes.
cpu::Operand MatrixOf(const Tensor& t, int64_t offset, bool transposed) {
  const int64_t rs = t.strides[t.strides.size() - 2], cs = t.strides.back();
  const auto* base = static_cast<const char*>(t.Raw()) + offset * static_cast<int64_t>(DTypeSize(t.dtype));
  return {base, cpu::ElemOf(t.dtype), transposed ? cs : rs, transposed ? rs : cs};
}

cpu::Operand RowMajorF32(const float* data, int64_t ld) { return {data, cpu::Elem::F32, ld, 1}; }

}  // namespace

Tensor Linear(const Tensor& xIn, const Tensor& wIn, const Tensor* biasIn, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::Linear(xIn, wIn, biasIn, outIn);
  RequireCpu(xIn, "linear x");
  RequireCpu(wIn, "linear weight");
  if (wIn.Dim() != 2) FailType("linear: weight must be [out, in], got " + wIn.Describe());
  if (xIn.Dim() < 1) FailType("linear: x must have at least one dimension");
  const int64_t n = wIn.Size(0), k = wIn.Size(1);
  if (xIn.shape.back() != k) {
    FailType("linear: x " + xIn.Describe() + " has last dimension " + std::to_string(xIn.shape.back()) +
             ", weight " + wIn.Describe() + " expects " + std::to_string(k));
  }
  if (biasIn != nullptr) {
    RequireCpu(*biasIn, "linear bias");
    RequireShape(*biasIn, {n}, "linear bias");
  }
  Shape outShape = xIn.shape;
  outShape.back() = n;
  Tensor out = PrepareOut(outIn, outShape);
  RequireNoAlias(out, xIn, "x");
  const int64_t m = xIn.Numel() / (k == 0 ? 1 : k);
  const int64_t rows = k == 0 ? NumElements(outShape) / (n == 0 ? 1 : n) : m;
  if (rows == 0 || n == 0) return out;
  const Tensor x = AsF32(xIn);
  float* y = out.F32();
  if (biasIn != nullptr) {
    const Tensor b = AsF32(*biasIn);
    const float* bp = b.F32();
    ParallelFor(rows, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::memcpy(y + r * n, bp, static_cast<std::size_t>(n) * 4);
    });
  }
  if (k == 0) {
    if (biasIn == nullptr) std::memset(y, 0, static_cast<std::size_t>(rows * n) * 4);
    return out;
  }
  // y = x · wᵀ: B[k][j] = w[j][k].
  cpu::Gemm(m, n, k, RowMajorF32(x.F32(), k), MatrixOf(wIn, 0, true), y, n, biasIn != nullptr);
  return out;
}

Tensor Matmul(const Tensor& aIn, const Tensor& bIn, bool transposeB, const Tensor* outIn) {
  if (gpu::On(aIn)) return gpu::Matmul(aIn, bIn, transposeB, outIn);
  RequireCpu(aIn, "matmul a");
  RequireCpu(bIn, "matmul b");
  if (aIn.Dim() < 2 || bIn.Dim() < 2) FailType("matmul: a and b need at least 2 dimensions");
  const int64_t m = aIn.Size(aIn.Dim() - 2), k = aIn.Size(aIn.Dim() - 1);
  const int64_t bk = transposeB ? bIn.Size(bIn.Dim() - 1) : bIn.Size(bIn.Dim() - 2);
  const int64_t n = transposeB ? bIn.Size(bIn.Dim() - 2) : bIn.Size(bIn.Dim() - 1);
  if (bk != k) {
    FailType("matmul: inner dimensions differ: a " + aIn.Describe() + ", b " + bIn.Describe() +
             (transposeB ? " (b transposed)" : ""));
  }
  const Shape batchA(aIn.shape.begin(), aIn.shape.end() - 2);
  const Shape batchB(bIn.shape.begin(), bIn.shape.end() - 2);
  const bool sharedB = bIn.Dim() == 2;
  if (!sharedB && batchA != batchB) {
    FailType("matmul: batch dimensions differ: a " + aIn.Describe() + ", b " + bIn.Describe());
  }
  Shape outShape = batchA;
  outShape.push_back(m);
  outShape.push_back(n);
  Tensor out = PrepareOut(outIn, outShape);
  RequireNoAlias(out, aIn, "a");
  RequireNoAlias(out, bIn, "b");
  if (out.Numel() == 0) return out;
  const Tensor a = AsF32(aIn);
  // b is read through its strides in its own dtype; batched b is made contiguous first so that batch i
  // starts at i·K·N.
  const Tensor b = sharedB ? bIn : Contiguous(bIn);
  const int64_t batches = NumElements(batchA);
  if (sharedB) {
    // One GEMM over all batches: [batches·M, K] × [K, N].
    cpu::Gemm(batches * m, n, k, RowMajorF32(a.F32(), k), MatrixOf(b, 0, transposeB), out.F32(), n, false);
    return out;
  }
  for (int64_t i = 0; i < batches; ++i) {
    cpu::Gemm(m, n, k, RowMajorF32(a.F32() + i * m * k, k), MatrixOf(b, i * k * n, transposeB),
              out.F32() + i * m * n, n, false);
  }
  return out;
}

}  // namespace tessera
