// GEMM for every CPU kernel that multiplies matrices (linear, matmul, conv2d): BLIS-style blocking over the
// dispatcher's micro-kernels, threaded on the kernel pool; or OpenBLAS when that is the choice.
#pragma once

#include <cstdint>

#include "kernels/cpu/kernel_set.h"
#include "tensor/dtype.h"

namespace tessera::cpu {

inline Elem ElemOf(DType t) {
  switch (t) {
    case DType::F32: return Elem::F32;
    case DType::BF16: return Elem::BF16;
    case DType::F16: return Elem::F16;
  }
  return Elem::F32;
}

// C[m × n] = (accumulate ? C : 0) + A[m × k] · B[k × n]. A and B are strided views of any element type
// (f32, bf16, f16: widened to f32 while packing, so bf16 weights are never copied whole); C is row-major
// f32 with row stride ldc.
void Gemm(int64_t m, int64_t n, int64_t k, const Operand& a, const Operand& b, float* c, int64_t ldc, bool accumulate);

// The micro-kernel's throughput on cache-resident data with every pool thread busy, best of five rounds
// over about `seconds` in all: the ceiling a GEMM of the current kernels can reach on this machine now.
// GFLOP/s.
double MeasureCeiling(double seconds);

}  // namespace tessera::cpu
