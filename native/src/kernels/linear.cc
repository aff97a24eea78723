// GEMM-backed kernels. OpenBLAS threads itself (openblas_set_num_threads follows TESSERA_NUM_THREADS).
// bf16/f16 weights are converted to f32 per call here; convert them once at load for the hot path.
#include <cblas.h>

#include <cstring>

#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {

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
  const Tensor w = AsF32(wIn);
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
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(n),
              static_cast<blasint>(k), 1.0f, x.F32(), static_cast<blasint>(k), w.F32(), static_cast<blasint>(k),
              biasIn != nullptr ? 1.0f : 0.0f, y, static_cast<blasint>(n));
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
  const Tensor b = AsF32(bIn);
  const int64_t batches = NumElements(batchA);
  if (sharedB && !transposeB) {
    // One GEMM over all batches: [batches·M, K] × [K, N].
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(batches * m),
                static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a.F32(), static_cast<blasint>(k), b.F32(),
                static_cast<blasint>(n), 0.0f, out.F32(), static_cast<blasint>(n));
    return out;
  }
  for (int64_t i = 0; i < batches; ++i) {
    const float* bp = b.F32() + (sharedB ? 0 : i * k * n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
                static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a.F32() + i * m * k,
                static_cast<blasint>(k), bp, static_cast<blasint>(transposeB ? k : n), 0.0f,
                out.F32() + i * m * n, static_cast<blasint>(n));
  }
  return out;
}

}  // namespace tessera
