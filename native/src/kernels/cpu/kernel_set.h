// One table of hand-written CPU kernels per instruction set (isa_*.cc). The same source (isa_body.inc)
// is compiled once per instruction set; the dispatcher (dispatch.h) picks one table from CPUID at start.
//
// Why our own GEMM: the kernels must not depend on a BLAS library recognising the CPU by name (Debian's
// OpenBLAS falls back to SSE3 kernels on CPUs it cannot name), attention needs the micro-kernels
// themselves to keep its tiles in cache, and bf16 weights are widened to f32 while their panels are
// packed, so a bf16 checkpoint stays bf16 in memory on any x86 CPU.
//
// Packed layouts (BLIS style): A is packed in panels of MR rows, k-major (panel[k][MR]); B in panels of
// NR columns (panel[k][NR]); rows and columns past the matrix are zero-filled.
#pragma once

#include <cstdint>

namespace tessera::cpu {

enum class Elem : uint8_t { F32, BF16, F16 };

// A strided matrix view: element (r, c) is at data + (r·rowStride + c·colStride) elements.
struct Operand {
  const void* data = nullptr;
  Elem elem = Elem::F32;
  int64_t rowStride = 0;
  int64_t colStride = 1;
};

// One attention tile: `panels` panels of NR queries of one (batch, head) against all keys.
struct AttentionTile {
  int64_t headDim = 0;
  int64_t keys = 0;              // real keys; padded keys are masked out
  int64_t keyBlock = 0;          // keys per step, a multiple of MR
  const float* keyPanels = nullptr;    // ceil(keys/MR) A-panels of K [keys × headDim], kc = headDim
  const float* valuePanels = nullptr;  // ceil(headDim/MR) A-panels of Vᵀ [headDim × paddedKeys]
  const float* queryPanels = nullptr;  // `panels` B-panels of Qᵀ [headDim × queries], scaled by scale·log2(e)
  int64_t panels = 0;
  int64_t queries = 0;  // real queries in this tile (≤ panels·NR)
  float* scores = nullptr;  // scratch: keyBlock × NR
  float* acc = nullptr;     // scratch: panels × (ceil(headDim/MR)·MR) × NR
  float* rowMax = nullptr;  // scratch: panels × NR
  float* rowSum = nullptr;  // scratch: panels × NR
  float* out = nullptr;     // first query's output row; row q at out + q·outStride
  int64_t outStride = 0;
  float* lse = nullptr;     // optional: natural-log sum of exp per query, contiguous
};

struct KernelSet {
  const char* name;  // "avx512", "avx2", "baseline"
  int mr;            // micro-tile rows
  int nr;            // micro-tile columns
  int64_t kc;        // k per packed block (B micro-panel stays in L1)
  int64_t mc;        // rows per packed A block (stays in L2)
  int64_t nc;        // columns per packed B block

  // A [rows × kc] from (row0, k0) into ceil(rows/MR) panels, each value times `scale`; panel stride MR·kc.
  void (*packA)(const Operand& a, int64_t row0, int64_t rows, int64_t k0, int64_t kc, float scale, float* dst);
  // B [kc × cols] from (k0, col0) into ceil(cols/NR) panels, each value times `scale`; panel stride kc·NR.
  void (*packB)(const Operand& b, int64_t k0, int64_t kc, int64_t col0, int64_t cols, float scale, float* dst);
  // C[mc × nc] (= or +=) packedA · packedB for one packed block.
  void (*macroKernel)(int64_t mc, int64_t nc, int64_t kc, const float* packedA, const float* packedB, float* c,
                      int64_t ldc, bool accumulate);
  // y[m × n] (= or +=) x[m × k] · B where B[k][j] is row j of a [n × k] matrix (nn.Linear's weight), for a
  // handful of rows: reads the weight once instead of packing it. x is f32 with row stride ldx.
  void (*gemvRows)(int64_t m, int64_t n0, int64_t n1, int64_t k, const float* x, int64_t ldx, const Operand& w,
                   float* y, int64_t ldy, bool accumulate);
  void (*attentionTile)(const AttentionTile& tile);
  // Element-wise y = f(x) over n floats (y may be x): GELU (tanh approximation) and SiLU.
  void (*geluTanh)(const float* x, float* y, int64_t n);
  void (*silu)(const float* x, float* y, int64_t n);
  // Runs the micro-kernel on cache-resident panels `reps` times; returns the flops done (for the ceiling).
  double (*microKernelLoop)(int64_t reps, float* scratch);
};

// The tables this build has, best first. A table must only be called on a CPU that has its features.
const KernelSet& Avx512Kernels();
const KernelSet& Avx2Kernels();
const KernelSet& BaselineKernels();

}  // namespace tessera::cpu
