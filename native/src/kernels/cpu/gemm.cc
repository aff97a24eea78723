#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/openblas.h"
#include "util/aligned_buffer.h"
#include "util/errors.h"
#include "util/half.h"
#include "util/thread_pool.h"

namespace tessera::cpu {
namespace {

// Up to this many rows, an nn.Linear weight is read once by gemvRows instead of being packed (packing
// costs a full read and write of the weight, which dominates when there are only a few rows).
constexpr int64_t kGemvMaxRows = 4;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void ZeroRows(int64_t m, int64_t n, float* c, int64_t ldc) {
  for (int64_t r = 0; r < m; ++r) std::memset(c + r * ldc, 0, static_cast<std::size_t>(n) * sizeof(float));
}

// ---- OpenBLAS ----

// A contiguous f32 copy of an operand that OpenBLAS cannot read as it is (not f32, or strided both ways).
std::vector<float> DenseCopy(int64_t rows, int64_t cols, const Operand& op) {
  std::vector<float> dense(static_cast<std::size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * op.rowStride + c * op.colStride;
      float v = 0.0f;
      switch (op.elem) {
        case Elem::F32: v = static_cast<const float*>(op.data)[i]; break;
        case Elem::BF16: v = Bf16ToF32(static_cast<const uint16_t*>(op.data)[i]); break;
        case Elem::F16: v = F16ToF32(static_cast<const uint16_t*>(op.data)[i]); break;
      }
      dense[static_cast<std::size_t>(r * cols + c)] = v;
    }
  }
  return dense;
}

struct BlasMatrix {
  const float* data;
  int transpose;  // CblasNoTrans 111 / CblasTrans 112
  int64_t ld;
};

BlasMatrix AsBlas(int64_t rows, int64_t cols, const Operand& op, std::vector<float>& keep) {
  if (op.elem == Elem::F32 && op.colStride == 1 && op.rowStride >= std::max<int64_t>(cols, 1)) {
    return {static_cast<const float*>(op.data), 111, op.rowStride};
  }
  if (op.elem == Elem::F32 && op.rowStride == 1 && op.colStride >= std::max<int64_t>(rows, 1)) {
    return {static_cast<const float*>(op.data), 112, op.colStride};
  }
  keep = DenseCopy(rows, cols, op);
  return {keep.data(), 111, std::max<int64_t>(cols, 1)};
}

void OpenBlasGemm(int64_t m, int64_t n, int64_t k, const Operand& a, const Operand& b, float* c, int64_t ldc,
                  bool accumulate) {
  const OpenBlas& blas = LoadOpenBlas();
  for (const int64_t v : {m, n, k, ldc}) {
    if (v > INT_MAX) Fail("OpenBLAS: matrix dimension " + std::to_string(v) + " exceeds its 32-bit interface");
  }
  std::vector<float> keepA, keepB;
  const BlasMatrix ma = AsBlas(m, k, a, keepA);
  const BlasMatrix mb = AsBlas(k, n, b, keepB);
  blas.sgemm(101, ma.transpose, mb.transpose, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f,
             ma.data, static_cast<int>(ma.ld), mb.data, static_cast<int>(mb.ld), accumulate ? 1.0f : 0.0f, c,
             static_cast<int>(ldc));
}

// ---- our kernels ----

void PackedGemm(const KernelSet& ks, int64_t m, int64_t n, int64_t k, const Operand& a, const Operand& b, float* c,
                int64_t ldc, bool accumulate) {
  thread_local AlignedFloats packedB;
  const int64_t threads = NumThreads();
  for (int64_t jc = 0; jc < n; jc += ks.nc) {
    const int64_t nCols = std::min(ks.nc, n - jc);
    const int64_t panels = CeilDiv(nCols, ks.nr);
    for (int64_t pc = 0; pc < k; pc += ks.kc) {
      const int64_t kc = std::min(ks.kc, k - pc);
      float* bp = packedB.Get(static_cast<std::size_t>(panels * ks.nr * kc));
      ParallelFor(panels, 4, [&](int64_t p0, int64_t p1) {
        ks.packB(b, pc, kc, jc + p0 * ks.nr, std::min(nCols - p0 * ks.nr, (p1 - p0) * ks.nr), 1.0f,
                 bp + p0 * kc * ks.nr);
      });
      // Tasks are (row block × column chunk); columns are split only when there are too few row blocks to
      // keep every thread busy, since each chunk packs its rows of A again.
      const int64_t rowBlocks = CeilDiv(m, ks.mc);
      const int64_t wanted = std::min(panels, CeilDiv(2 * threads, rowBlocks));
      const int64_t chunkPanels = CeilDiv(panels, std::max<int64_t>(wanted, 1));
      const int64_t colChunks = CeilDiv(panels, chunkPanels);
      const bool add = accumulate || pc > 0;
      ParallelFor(rowBlocks * colChunks, 1, [&](int64_t t0, int64_t t1) {
        thread_local AlignedFloats packedA;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t row0 = (t / colChunks) * ks.mc;
          const int64_t rows = std::min(ks.mc, m - row0);
          const int64_t col0 = (t % colChunks) * chunkPanels * ks.nr;
          const int64_t cols = std::min(chunkPanels * ks.nr, nCols - col0);
          float* ap = packedA.Get(static_cast<std::size_t>(CeilDiv(rows, ks.mr) * ks.mr * kc));
          ks.packA(a, row0, rows, pc, kc, 1.0f, ap);
          ks.macroKernel(rows, cols, kc, ap, bp + (col0 / ks.nr) * kc * ks.nr, c + row0 * ldc + jc + col0, ldc, add);
        }
      });
    }
  }
}

}  // namespace

void Gemm(int64_t m, int64_t n, int64_t k, const Operand& a, const Operand& b, float* c, int64_t ldc,
          bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) ZeroRows(m, n, c, ldc);
    return;
  }
  const Dispatch& d = ActiveDispatch();
  if (d.openblas) {
    OpenBlasGemm(m, n, k, a, b, c, ldc, accumulate);
    return;
  }
  const KernelSet& ks = *d.kernels;
  if (m <= kGemvMaxRows && b.rowStride == 1 && a.elem == Elem::F32 && a.colStride == 1) {
    const auto* x = static_cast<const float*>(a.data);
    ParallelFor(n, std::max<int64_t>(8, 32768 / k), [&](int64_t j0, int64_t j1) {
      ks.gemvRows(m, j0, j1, k, x, a.rowStride, b, c, ldc, accumulate);
    });
    return;
  }
  PackedGemm(ks, m, n, k, a, b, c, ldc, accumulate);
}

double MeasureCeiling(double seconds) {
  // The best of five rounds: a ceiling is a maximum, and on a shared machine one round can catch a
  // neighbour's burst.
  const KernelSet& ks = *ActiveDispatch().kernels;
  const int64_t threads = NumThreads();
  constexpr int kRounds = 5;
  double best = 0.0;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<double> flops{0.0};
    const auto start = std::chrono::steady_clock::now();
    ParallelFor(threads, 1, [&](int64_t t0, int64_t t1) {
      // Padded by a page on both sides: the C tile is written on every call, and two threads' scratch
      // must not share a cache line (false sharing would lower the ceiling it measures).
      AlignedFloats scratch;
      float* s = scratch.Get(static_cast<std::size_t>((ks.mr + ks.nr) * 128 + ks.mr * ks.nr + 2048)) + 1024;
      for (int64_t t = t0; t < t1; ++t) {
        const auto begin = std::chrono::steady_clock::now();
        double done = 0.0;
        while (std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < seconds / kRounds) {
          done += ks.microKernelLoop(500, s);
        }
        double seen = flops.load();
        while (!flops.compare_exchange_weak(seen, seen + done)) {
        }
      }
    });
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flops.load() / wall / 1e9);
  }
  return best;
}

}  // namespace tessera::cpu
