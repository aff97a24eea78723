// Blocked attention with online softmax (the FlashAttention recurrence) on the CPU.
//
// Layout: q [B, Sq, H, D], k/v [B, Sk, H, D] — the projection output reshaped, no transpose needed: one
// head's rows are D floats spaced H·D apart, which sgemm reads through its leading dimension.
// For each (batch, head, block of kBlockQ queries) the keys are walked in blocks of kBlockK:
//   S = scale·Q·Kᵀ (sgemm) → per row: new max m', P = exp(S − m'), l = l·exp(m − m') + ΣP,
//   O = O·exp(m − m') + P·V (sgemm, accumulating into the output rows in place).
// At the end O /= l and lse = m + log l. Memory per step is one kBlockQ × kBlockK score tile, never Sq × Sk.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels.h"
#include "util/fast_math.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

constexpr int64_t kBlockQ = 256;
constexpr int64_t kBlockK = 512;

void CheckAttentionShapes(const Tensor& q, const Tensor& k, const Tensor& v) {
  if (q.Dim() != 4) FailType("attention: q must be [B, S, H, D], got " + q.Describe());
  if (k.Dim() != 4) FailType("attention: k must be [B, S, H, D], got " + k.Describe());
  if (k.shape != v.shape) FailType("attention: k " + k.Describe() + " and v " + v.Describe() + " differ");
  if (k.Size(0) != q.Size(0) || k.Size(2) != q.Size(2) || k.Size(3) != q.Size(3)) {
    FailType("attention: q " + q.Describe() + " and k " + k.Describe() + " disagree on batch, heads or head size");
  }
}

}  // namespace

Tensor Attention(const Tensor& qIn, const Tensor& kIn, const Tensor& vIn, float scale, const Tensor* outIn,
                 const Tensor* lseIn) {
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
  std::vector<float> scores(static_cast<std::size_t>(kBlockQ * kBlockK));
  std::vector<float> rowMax(kBlockQ), rowSum(kBlockQ);

  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t q0 = 0; q0 < sq; q0 += kBlockQ) {
        const int64_t rows = std::min(kBlockQ, sq - q0);
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
          ParallelFor(rows, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
              float* row = s + r * cols;
              float mx = rowMax[static_cast<std::size_t>(r)];
              for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, row[j]);
              const float correction = FastExp(rowMax[static_cast<std::size_t>(r)] - mx);
              float sum = 0;
              for (int64_t j = 0; j < cols; ++j) {
                row[j] = FastExp(row[j] - mx);
                sum += row[j];
              }
              rowSum[static_cast<std::size_t>(r)] = rowSum[static_cast<std::size_t>(r)] * correction + sum;
              rowMax[static_cast<std::size_t>(r)] = mx;
              if (correction != 1.0f) {
                float* o = op + r * ld;
                for (int64_t j = 0; j < d; ++j) o[j] *= correction;
              }
            }
          });
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(d),
                      static_cast<blasint>(cols), 1.0f, s, static_cast<blasint>(cols), vp, static_cast<blasint>(ld),
                      1.0f, op, static_cast<blasint>(ld));
        }

        for (int64_t r = 0; r < rows; ++r) {
          const float l = rowSum[static_cast<std::size_t>(r)];
          const float inv = l > 0 ? 1.0f / l : 0.0f;
          float* o = op + r * ld;
          for (int64_t j = 0; j < d; ++j) o[j] *= inv;
          if (lseIn != nullptr) {
            lse.F32()[(b * heads + h) * sq + q0 + r] =
                l > 0 ? rowMax[static_cast<std::size_t>(r)] + std::log(l) : -std::numeric_limits<float>::infinity();
          }
        }
      }
    }
  }
  return out;
}

}  // namespace tessera
