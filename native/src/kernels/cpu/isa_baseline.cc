// The baseline CPU kernels: GCC vector extensions, 4 lanes, no FMA — SSE2 on any x86-64, NEON on arm64.
// The fallback for CPUs without AVX2, and a second, independent build of isa_body.inc that the kernel
// tests run on every machine.
#include <cstdint>
#include <cstring>

#include "kernels/cpu/kernel_set.h"
#include "util/half.h"

namespace tessera::cpu::baseline {
namespace {

typedef float V4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));
typedef uint32_t U4 __attribute__((vector_size(16)));
typedef uint16_t H4 __attribute__((vector_size(8)));

struct Vec {
  using V = V4;
  static constexpr int kLanes = 4;
  static V Zero() { return V{0.0f, 0.0f, 0.0f, 0.0f}; }
  static V Load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void Store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V Set1(float x) { return V{x, x, x, x}; }
  static V Broadcast(const float* p) { return Set1(*p); }
  static V Fma(V a, V b, V c) { return a * b + c; }
  static V Add(V a, V b) { return a + b; }
  static V Sub(V a, V b) { return a - b; }
  static V Mul(V a, V b) { return a * b; }
  static V Div(V a, V b) { return a / b; }
  static V Max(V a, V b) { return a > b ? a : b; }  // b when either is NaN, as maxps
  static V Min(V a, V b) { return a < b ? a : b; }
  static V LoadBf16(const uint16_t* p) {
    H4 h;
    std::memcpy(&h, p, sizeof h);
    const U4 bits = __builtin_convertvector(h, U4) << 16;
    V v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  static V LoadF16(const uint16_t* p) { return V{F16ToF32(p[0]), F16ToF32(p[1]), F16ToF32(p[2]), F16ToF32(p[3])}; }
  // m[i][j] ↔ m[j][i] for a 4 × 4 block held in registers.
  static constexpr bool kHasTranspose = true;
  static void Transpose(V (&m)[kLanes]) {
    const I4 lo = {0, 4, 1, 5}, hi = {2, 6, 3, 7}, first = {0, 1, 4, 5}, second = {2, 3, 6, 7};
    const V t0 = __builtin_shuffle(m[0], m[1], lo), t1 = __builtin_shuffle(m[0], m[1], hi);
    const V t2 = __builtin_shuffle(m[2], m[3], lo), t3 = __builtin_shuffle(m[2], m[3], hi);
    m[0] = __builtin_shuffle(t0, t2, first);
    m[1] = __builtin_shuffle(t0, t2, second);
    m[2] = __builtin_shuffle(t1, t3, first);
    m[3] = __builtin_shuffle(t1, t3, second);
  }
  static float Sum(V v) { return (v[0] + v[2]) + (v[1] + v[3]); }
  // 2^n for integral n in [-127, 127] (−127 gives 0): n + 127 placed in the exponent field.
  static V Pow2(V n) {
    const I4 bits = (__builtin_convertvector(n, I4) + 127) << 23;
    V v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
};

constexpr int kMr = 4;
constexpr int kNv = 3;
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 96;
constexpr int64_t kNc = 2048;
constexpr const char* kName = "baseline";

#include "kernels/cpu/isa_body.inc"

}  // namespace
}  // namespace tessera::cpu::baseline

namespace tessera::cpu {
const KernelSet& BaselineKernels() { return baseline::kKernels; }
}  // namespace tessera::cpu
