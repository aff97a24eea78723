// The CPU kernels for AVX-512F (Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4 and newer): 8 × 48
// micro-tile, 24 of the 32 ZMM registers as accumulators. The logic is isa_body.inc, shared with the
// AVX2 and baseline kernels that the kernel tests run on every machine; only the vector traits differ.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/kernel_set.h"
#include "util/half.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace tessera::cpu::avx512 {
namespace {

struct Vec {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V Set1(float x) { return _mm512_set1_ps(x); }
  static V Broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V Div(V a, V b) { return _mm512_div_ps(a, b); }
  static V Max(V a, V b) { return _mm512_max_ps(a, b); }
  static V Min(V a, V b) { return _mm512_min_ps(a, b); }
  static V LoadBf16(const uint16_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static V LoadF16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  // No 16 × 16 register transpose: packing a weight panel goes through a small block in memory.
  static constexpr bool kHasTranspose = false;
  static void Transpose(V (&)[kLanes]) {}
  static float Sum(V v) { return _mm512_reduce_add_ps(v); }
  // 2^n for integral n in [-127, 127] (−127 gives 0): n + 127 placed in the exponent field.
  static V Pow2(V n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
};

constexpr int kMr = 8;
constexpr int kNv = 3;
constexpr int64_t kKc = 128;
constexpr int64_t kMc = 192;
constexpr int64_t kNc = 3072;
constexpr const char* kName = "avx512";

#include "kernels/cpu/isa_body.inc"

}  // namespace
}  // namespace tessera::cpu::avx512

#pragma GCC pop_options

namespace tessera::cpu {
const KernelSet& Avx512Kernels() { return avx512::kKernels; }
}  // namespace tessera::cpu

#else

namespace tessera::cpu {
const KernelSet& Avx512Kernels() { return BaselineKernels(); }  // never chosen off x86 (see dispatch.cc)
}  // namespace tessera::cpu

#endif
