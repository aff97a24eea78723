// PyTorch's CPU random generator and its normal sampling, reproduced bit for bit, so that a seed draws the
// initial noise Diffusers draws with torch.Generator("cpu").manual_seed(seed) (and torch.randn).
//
// What torch does (ATen: MT19937RNGEngine.h, CPUGeneratorImpl.cpp, DistributionsHelper.h,
// TransformationHelper.h, native/cpu/DistributionTemplates.h, native/cpu/avx_mathfun.h):
// - the engine is MT19937 seeded with the low 32 bits of the seed; random() is one 32-bit draw, random64()
//   two draws, the first in the high half;
// - a contiguous float32 tensor of 16 or more elements is filled with uniforms (24 bits each), then
//   Box-Muller in blocks of 16 (u1 = 1 − data[j], u2 = data[j+8], j < 8); when the size is not a multiple
//   of 16 the last 16 values are redrawn and transformed again. CPUs torch runs with its AVX2 kernels
//   compute log/sin/cos with the Cephes polynomials of avx_mathfun.h in float (and fused multiply-adds),
//   others with the C library's logf/sinf/cosf; the two differ in the last bits;
// - bfloat16 and float16 tensors of 16 or more are computed in float with the same blocks and rounded,
//   but each block draws its 16 uniforms just before it is transformed (so a tail redraws 16 uniforms
//   after the last full block, not after all of them);
// - smaller tensors (any dtype) draw element by element from normal_distribution<double>: two 53-bit
//   uniforms, r = √(−2·log1p(−u2)), θ = 2π·u1, r·cos θ now and r·sin θ cached in the generator for the
//   next element.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace tessera {

class Mt19937 {
 public:
  explicit Mt19937(uint64_t seed);
  uint32_t Next();

 private:
  void Twist();
  std::array<uint32_t, 624> state_{};
  int left_ = 1;
  int next_ = 0;
};

// How torch's normal kernel runs for float32 tensors of 16 or more elements on the machine compared with.
enum class TorchNormalPath { Avx2, Scalar };

enum class NoiseDType { F32, BF16, F16 };

class TorchCpuGenerator {
 public:
  explicit TorchCpuGenerator(uint64_t seed) : engine_(seed) {}
  uint32_t Random() { return engine_.Next(); }
  uint64_t Random64();
  // One draw of normal_distribution<double>(0, 1), with the cached second sample.
  double NormalDouble();

 private:
  Mt19937 engine_;
  std::optional<double> nextDouble_;
};

// torch.randn(count elements, generator, dtype): float32 values, or bf16/f16 bit patterns.
void TorchRandnF32(TorchCpuGenerator& gen, int64_t count, TorchNormalPath path, float* out);
void TorchRandn16(TorchCpuGenerator& gen, int64_t count, NoiseDType dtype, TorchNormalPath path, uint16_t* out);

// The path torch picks on this CPU: ATEN_CPU_CAPABILITY when set ("default" → Scalar, "avx2" → Avx2,
// "avx512" → Scalar), else AVX2 with FMA and without AVX-512 (F, BW, VL, DQ) → Avx2, else Scalar.
TorchNormalPath DetectTorchNormalPath();

}  // namespace tessera
