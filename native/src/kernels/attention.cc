// Blocked attention with online softmax (the FlashAttention recurrence) on the CPU.
//
// Layout: q [B, Sq, H, D], k/v [B, Sk, H, D] — the projection output reshaped, no transpose needed: one
// head's rows are D floats spaced H·D apart, which sgemm reads through its leading dimension.
// For each (batch, head) and each band of up to kBandQ queries, the keys are walked in blocks of kBlockK:
//   S = scale·Q·Kᵀ (one sgemm, band × block) → per query row, in parallel: new max m', P = exp(S − m'),
//   l = l·exp(m − m') + ΣP, O = O·exp(m − m') → O += P·V (one sgemm, accumulating into the output rows).
// At the end O /= l and lse = m + log l. Scratch is one band × block score tile (8 MiB), never Sq × Sk.
// The GEMMs are large so OpenBLAS's own threads are used well; the row work runs on the thread pool.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/fast_math.h"
#include "util/simd.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

constexpr int64_t kBandQ = 4096;
constexpr int64_t kBlockK = 512;
constexpr int kLanes = 16;

void CheckAttentionShapes(const Tensor& q, const Tensor& k, const Tensor& v) {
  if (q.Dim() != 4) FailType("attention: q must be [B, S, H, D], got " + q.Describe());
  if (k.Dim() != 4) FailType("attention: k must be [B, S, H, D], got " + k.Describe());
  if (k.shape != v.shape) FailType("attention: k " + k.Describe() + " and v " + v.Describe() + " differ");
  if (k.Size(0) != q.Size(0) || k.Size(2) != q.Size(2) || k.Size(3) != q.Size(3)) {
    FailType("attention: q " + q.Describe() + " and k " + k.Describe() + " disagree on batch, heads or head size");
  }
}

// One query row against one key block: exponentiates the scores in place and updates the running max
// and sum; returns the factor the row's accumulated output must be scaled by. Lane arrays keep the max
// and sum reductions vectorizable without -ffast-math.
TESSERA_SIMD float UpdateRow(float* row, int64_t cols, float& runningMax, float& runningSum) {
  float lanesMax[kLanes];
  for (int i = 0; i < kLanes; ++i) lanesMax[i] = runningMax;
  int64_t j = 0;
  for (; j + kLanes <= cols; j += kLanes) {
    for (int i = 0; i < kLanes; ++i) lanesMax[i] = std::max(lanesMax[i], row[j + i]);
  }
  float mx = runningMax;
  for (int i = 0; i < kLanes; ++i) mx = std::max(mx, lanesMax[i]);
  for (; j < cols; ++j) mx = std::max(mx, row[j]);

  float lanesSum[kLanes] = {};
  j = 0;
  for (; j + kLanes <= cols; j += kLanes) {
    for (int i = 0; i < kLanes; ++i) {
      const float p = FastExp(row[j + i] - mx);
      row[j + i] = p;
      lanesSum[i] += p;
    }
  }
  float sum = 0;
  for (int i = 0; i < kLanes; ++i) sum += lanesSum[i];
  for (; j < cols; ++j) {
    row[j] = FastExp(row[j] - mx);
    sum += row[j];
  }
  const float correction = FastExp(runningMax - mx);  // 0 on the first block (runningMax = -inf)
  runningSum = runningSum * correction + sum;
  runningMax = mx;
  return correction;
}

TESSERA_SIMD void ScaleRow(float* o, int64_t d, float factor) {
  for (int64_t j = 0; j < d; ++j) o[j] *= factor;
}

}  // namespace

Tensor Attention(const Tensor& qIn, const Tensor& kIn, const Tensor& vIn, float scale, const Tensor* outIn,
                 const Tensor* lseIn) {
  if (gpu::On(qIn)) return gpu::Attention(qIn, kIn, vIn, scale, outIn, lseIn);
  RequireCpu(qIn, "attention q");
  RequireCpu(kIn, "attention k");
  RequireCpu(vIn, "attention v");
  CheckAttentionShapes(qIn, kIn, vIn);
  const int64_t batch = qIn.Size(0), sq = qIn.Size(1), heads = qIn.Size(2), d = qIn.Size(3);
  const int64_t sk = kIn.Size(1);
  Tensor out = PrepareOut(outIn, qIn.shape);
  RequireNoAlias(out, qIn, "q");
  RequireNoAlias(out, kIn, "k");
  RequireNoAlias(out, vIn, "v");
  Tensor lse;
  if (lseIn != nullptr) {
    RequireOut(*lseIn, {batch, heads, sq});
    lse = *lseIn;
  }
  const Tensor q = AsF32(qIn), k = AsF32(kIn), v = AsF32(vIn);
  const int64_t ld = heads * d;
  const int64_t band = std::min(kBandQ, std::max<int64_t>(sq, 1));
  std::vector<float> scores(static_cast<std::size_t>(band * kBlockK));
  std::vector<float> rowMax(static_cast<std::size_t>(band)), rowSum(static_cast<std::size_t>(band));
  const auto rowGrain = [](int64_t cols) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)); };

  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t q0 = 0; q0 < sq; q0 += band) {
        const int64_t rows = std::min(band, sq - q0);
        const float* qp = q.F32() + (b * sq + q0) * ld + h * d;
        float* op = out.F32() + (b * sq + q0) * ld + h * d;
        for (int64_t r = 0; r < rows; ++r) std::fill(op + r * ld, op + r * ld + d, 0.0f);
        std::fill(rowMax.begin(), rowMax.end(), -std::numeric_limits<float>::infinity());
        std::fill(rowSum.begin(), rowSum.end(), 0.0f);

        for (int64_t k0 = 0; k0 < sk; k0 += kBlockK) {
          const int64_t cols = std::min(kBlockK, sk - k0);
          const float* kp = k.F32() + (b * sk + k0) * ld + h * d;
          const float* vp = v.F32() + (b * sk + k0) * ld + h * d;
          float* s = scores.data();
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(rows),
                      static_cast<blasint>(cols), static_cast<blasint>(d), scale, qp, static_cast<blasint>(ld), kp,
                      static_cast<blasint>(ld), 0.0f, s, static_cast<blasint>(cols));
          ParallelFor(rows, rowGrain(cols), [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
              const float correction = UpdateRow(s + r * cols, cols, rowMax[static_cast<std::size_t>(r)],
                                                 rowSum[static_cast<std::size_t>(r)]);
              if (correction != 1.0f) ScaleRow(op + r * ld, d, correction);
            }
          });
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(d),
                      static_cast<blasint>(cols), 1.0f, s, static_cast<blasint>(cols), vp, static_cast<blasint>(ld),
                      1.0f, op, static_cast<blasint>(ld));
        }

        ParallelFor(rows, rowGrain(d), [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            const float l = rowSum[static_cast<std::size_t>(r)];
            ScaleRow(op + r * ld, d, l > 0 ? 1.0f / l : 0.0f);
            if (lseIn != nullptr) {
              lse.F32()[(b * heads + h) * sq + q0 + r] =
                  l > 0 ? rowMax[static_cast<std::size_t>(r)] + std::log(l) : -std::numeric_limits<float>::infinity();
            }
          }
        });
      }
    }
  }
  return out;
}

}  // namespace tessera
