// Attention on the CPU: a flash-style tiled kernel on the GEMM micro-kernels (kernels/cpu/isa_body.inc,
// AttentionTileImpl). Never forms the Sq × Sk score matrix: each task holds one tile of about 96 queries
// of one head and walks all keys in blocks of 256, keeping the running max, sum and output of its queries
// (the online-softmax recurrence), so a tile's scores, outputs and the current key block stay in L2.
//
// Layout: q [B, Sq, H, D], k/v [B, Sk, H, D] — the projection output reshaped, read through its strides
// (any dtype) while packing. Per group of heads, K and Vᵀ are packed once into micro-kernel panels that
// every query tile of those heads shares; then all (head, query tile) tasks of the group run in parallel,
// one tile per task. lse = log Σⱼ exp(scale·q·kⱼ) comes out of the same recurrence, for Ring merges.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/aligned_buffer.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

constexpr int64_t kKeyBlock = 256;        // keys per step of a tile
constexpr int64_t kTileQueries = 96;      // queries per task (rounded to whole micro-panels)
constexpr int64_t kPackedBudget = 8 << 20;  // floats of packed K and Vᵀ per group of heads (32 MiB)
constexpr float kLog2e = 1.44269504088896341f;

void CheckAttentionShapes(const Tensor& q, const Tensor& k, const Tensor& v) {
  if (q.Dim() != 4) FailType("attention: q must be [B, S, H, D], got " + q.Describe());
  if (k.Dim() != 4) FailType("attention: k must be [B, S, H, D], got " + k.Describe());
  if (k.shape != v.shape) FailType("attention: k " + k.Describe() + " and v " + v.Describe() + " differ");
  if (k.Size(0) != q.Size(0) || k.Size(2) != q.Size(2) || k.Size(3) != q.Size(3)) {
    FailType("attention: q " + q.Describe() + " and k " + k.Describe() + " disagree on batch, heads or head size");
  }
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The [rows × cols] matrix of one (batch, head) of a [B, S, H, D] tensor: rows = tokens, cols = D; or
// transposed (rows = D, cols = tokens).
cpu::Operand HeadMatrix(const Tensor& t, int64_t b, int64_t h, int64_t token0, bool transposed) {
  const int64_t elem = static_cast<int64_t>(DTypeSize(t.dtype));
  const auto* base =
      static_cast<const char*>(t.Raw()) + (b * t.strides[0] + token0 * t.strides[1] + h * t.strides[2]) * elem;
  const int64_t tokenStride = t.strides[1], dimStride = t.strides[3];
  return {base, cpu::ElemOf(t.dtype), transposed ? dimStride : tokenStride, transposed ? tokenStride : dimStride};
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
  if (sk == 0 || d == 0) {
    // No keys: an empty sum (output 0, lse −∞), as the recurrence would leave it.
    std::fill(out.F32(), out.F32() + out.Numel(), 0.0f);
    if (lseIn != nullptr) {
      const float value = sk == 0 ? -std::numeric_limits<float>::infinity() : std::log(static_cast<float>(sk));
      std::fill(lse.F32(), lse.F32() + lse.Numel(), value);
    }
    return out;
  }
  if (out.Numel() == 0) return out;

  const cpu::KernelSet& ks = *cpu::ActiveDispatch().kernels;
  const int64_t mr = ks.mr, nr = ks.nr;
  const int64_t keyPanels = CeilDiv(sk, mr), paddedKeys = keyPanels * mr;
  const int64_t dPanels = CeilDiv(d, mr), paddedD = dPanels * mr;
  const int64_t keyBlock = std::max<int64_t>(mr, (kKeyBlock / mr) * mr);
  const int64_t tilePanels = std::max<int64_t>(1, std::min(kTileQueries / nr, CeilDiv(sq, nr)));
  const int64_t tiles = CeilDiv(sq, tilePanels * nr);
  const int64_t packedPerHead = keyPanels * mr * d + paddedD * paddedKeys;
  const int64_t groupHeads = std::clamp<int64_t>(kPackedBudget / packedPerHead, 1, heads);
  thread_local AlignedFloats packed;
  float* packedHeads = packed.Get(static_cast<std::size_t>(groupHeads * packedPerHead));

  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h0 = 0; h0 < heads; h0 += groupHeads) {
      const int64_t group = std::min(groupHeads, heads - h0);
      // Pack K (A panels, kc = D) and Vᵀ (A panels, kc = padded keys, zero past the last key) per head.
      ParallelFor(group * (keyPanels + dPanels), 8, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t g = t / (keyPanels + dPanels), i = t % (keyPanels + dPanels);
          float* kp = packedHeads + g * packedPerHead;
          float* vp = kp + keyPanels * mr * d;
          if (i < keyPanels) {
            ks.packA(HeadMatrix(kIn, b, h0 + g, 0, false), i * mr, std::min(mr, sk - i * mr), 0, d, 1.0f,
                     kp + i * mr * d);
          } else {
            const int64_t dp = i - keyPanels;
            float* panel = vp + dp * mr * paddedKeys;
            ks.packA(HeadMatrix(vIn, b, h0 + g, 0, true), dp * mr, std::min(mr, d - dp * mr), 0, sk, 1.0f, panel);
            std::fill(panel + sk * mr, panel + paddedKeys * mr, 0.0f);
          }
        }
      });
      ParallelForEach(group * tiles, [&](int64_t t0, int64_t t1) {
        thread_local AlignedFloats scratch;
        const int64_t queryFloats = tilePanels * nr * d, scoreFloats = keyBlock * nr;
        const int64_t accFloats = tilePanels * paddedD * nr, rowFloats = tilePanels * nr;
        float* s = scratch.Get(static_cast<std::size_t>(queryFloats + scoreFloats + accFloats + 2 * rowFloats));
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t g = t / tiles, q0 = (t % tiles) * tilePanels * nr;
          const int64_t h = h0 + g;
          const int64_t queries = std::min(tilePanels * nr, sq - q0);
          cpu::AttentionTile tile;
          tile.headDim = d;
          tile.keys = sk;
          tile.keyBlock = keyBlock;
          tile.keyPanels = packedHeads + g * packedPerHead;
          tile.valuePanels = tile.keyPanels + keyPanels * mr * d;
          tile.queryPanels = s;
          tile.panels = CeilDiv(queries, nr);
          tile.queries = queries;
          tile.scores = s + queryFloats;
          tile.acc = tile.scores + scoreFloats;
          tile.rowMax = tile.acc + accFloats;
          tile.rowSum = tile.rowMax + rowFloats;
          tile.out = out.F32() + ((b * sq + q0) * heads + h) * d;
          tile.outStride = heads * d;
          tile.lse = lseIn != nullptr ? lse.F32() + (b * heads + h) * sq + q0 : nullptr;
          ks.packB(HeadMatrix(qIn, b, h, q0, true), 0, d, 0, queries, scale * kLog2e, s);
          ks.attentionTile(tile);
        }
      });
    }
  }
  return out;
}

}  // namespace tessera
