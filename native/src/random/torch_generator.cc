// See torch_generator.h for what is reproduced and why. Every floating-point step below is written as its
// own rounded operation (this file must not be compiled with FMA contraction of its own). torch's AVX2
// kernel is built by GCC with FMA and contraction on, which fuses some multiplies into the following add
// and not others; std::fma marks exactly the fused ones, found by matching torch 2.15's output on 10^6
// draws (tools/reference noise goldens check it).
#include "random/torch_generator.h"

// Bit parity needs every multiply-add below rounded as written, whatever flags the build adds.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/half.h"

namespace tessera {

// ---- MT19937 (standard constants) ----

Mt19937::Mt19937(uint64_t seed) {
  state_[0] = static_cast<uint32_t>(seed & 0xffffffffu);
  for (int j = 1; j < 624; ++j) {
    state_[j] = 1812433253u * (state_[j - 1] ^ (state_[j - 1] >> 30)) + static_cast<uint32_t>(j);
  }
}

void Mt19937::Twist() {
  constexpr uint32_t kMatrixA = 0x9908b0dfu, kUpper = 0x80000000u, kLower = 0x7fffffffu;
  for (int i = 0; i < 624; ++i) {
    const uint32_t y = (state_[i] & kUpper) | (state_[(i + 1) % 624] & kLower);
    state_[i] = state_[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
  }
  left_ = 624;
  next_ = 0;
}

uint32_t Mt19937::Next() {
  if (--left_ == 0) Twist();
  uint32_t y = state_[next_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint64_t TorchCpuGenerator::Random64() {
  const uint64_t high = Random();
  const uint64_t low = Random();
  return (high << 32) | low;
}

double TorchCpuGenerator::NormalDouble() {
  if (nextDouble_) {
    const double cached = *nextDouble_;
    nextDouble_.reset();
    return cached;
  }
  constexpr double kDivisor = 1.0 / static_cast<double>(uint64_t{1} << 53);
  const double u1 = static_cast<double>(Random64() & ((uint64_t{1} << 53) - 1)) * kDivisor;
  const double u2 = static_cast<double>(Random64() & ((uint64_t{1} << 53) - 1)) * kDivisor;
  const double r = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * M_PI * u1;
  nextDouble_ = r * std::sin(theta);
  return r * std::cos(theta);
}

namespace {

constexpr double kTwoPi = 2.0 * M_PI;

float Uniform24(TorchCpuGenerator& gen) {
  return static_cast<float>(gen.Random() & 0xffffffu) * (1.0f / 16777216.0f);
}

// ---- torch's scalar blocks of 16 (normal_fill_16<float>) ----
void Fill16Scalar(float* d) {
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - d[j];
    const float u2 = d[j + 8];
    const float radius = std::sqrt(-2.0f * std::log(u1));
    const float theta = static_cast<float>(kTwoPi * static_cast<double>(u2));
    d[j] = radius * std::cos(theta);
    d[j + 8] = radius * std::sin(theta);
  }
}

// ---- torch's AVX2 blocks of 16: avx_mathfun.h's Cephes log and sincos, lane by lane ----
float Bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t BitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float CephesLog(float x) {
  const bool invalid = !(x > 0.0f);
  x = std::fmax(x, Bits(0x00800000u));  // cut off denormals
  const int32_t exponent = static_cast<int32_t>(BitsOf(x) >> 23) - 0x7f;
  x = Bits((BitsOf(x) & ~0x7f800000u) | BitsOf(0.5f));
  float e = static_cast<float>(exponent) + 1.0f;
  const bool small = x < 0.707106781186547524f;
  const float tmp = small ? x : 0.0f;
  x = x - 1.0f;
  e = e - (small ? 1.0f : 0.0f);
  x = x + tmp;
  const float z = x * x;
  float y = 7.0376836292E-2f;
  y = std::fma(y, x, -1.1514610310E-1f);
  y = std::fma(y, x, 1.1676998740E-1f);
  y = std::fma(y, x, -1.2420140846E-1f);
  y = std::fma(y, x, 1.4249322787E-1f);
  y = std::fma(y, x, -1.6668057665E-1f);
  y = std::fma(y, x, 2.0000714765E-1f);
  y = std::fma(y, x, -2.4999993993E-1f);
  y = std::fma(y, x, 3.3333331174E-1f);
  y = y * x;
  y = std::fma(y, z, e * -2.12194440e-4f);
  y = y - z * 0.5f;
  x = x + y;
  x = x + e * 0.693359375f;
  return invalid ? Bits(0xffffffffu) : x;
}

void CephesSinCos(float xIn, float* sinOut, float* cosOut) {
  const bool negative = std::signbit(xIn);
  float x = std::fabs(xIn);
  float y = x * 1.27323954473516f;  // 4/π
  int32_t j = static_cast<int32_t>(y);
  j = (j + 1) & ~1;
  y = static_cast<float>(j);
  const bool swapSin = (j & 4) != 0;
  const bool polySin = (j & 2) == 0;
  const bool swapCos = ((j - 2) & 4) == 0;
  x = x + y * -0.78515625f;
  x = x + y * -2.4187564849853515625e-4f;
  x = x + y * -3.77489497744594108e-8f;
  const float z = x * x;
  float c = 2.443315711809948E-005f;
  c = std::fma(c, z, -1.388731625493765E-003f);
  c = std::fma(c, z, 4.166664568298827E-002f);
  c = c * z;
  c = std::fma(c, z, -(z * 0.5f));
  c = c + 1.0f;
  float s = -1.9515295891E-4f;
  s = std::fma(s, z, 8.3321608736E-3f);
  s = std::fma(s, z, -1.6666654611E-1f);
  s = s * z;
  s = std::fma(s, x, x);
  const float sinValue = polySin ? s : c;
  const float cosValue = polySin ? c : s;
  *sinOut = (negative != swapSin) ? -sinValue : sinValue;
  *cosOut = swapCos ? -cosValue : cosValue;
}

void Fill16Avx2(float* d) {
  const float twoPi = static_cast<float>(kTwoPi);
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - d[j];
    const float u2 = d[j + 8];
    const float radius = std::sqrt(-2.0f * CephesLog(u1));
    const float theta = twoPi * u2;
    float s, c;
    CephesSinCos(theta, &s, &c);
    d[j] = radius * c;
    d[j + 8] = radius * s;
  }
}

template <typename Uniform, typename Block>
void FillBlocks(float* out, int64_t count, Uniform uniform, Block block) {
  for (int64_t i = 0; i < count; ++i) out[i] = uniform();
  for (int64_t i = 0; i + 16 <= count; i += 16) block(out + i);
  if (count % 16 != 0) {
    float* tail = out + count - 16;
    for (int i = 0; i < 16; ++i) tail[i] = uniform();
    block(tail);
  }
}

}  // namespace

void TorchRandnF32(TorchCpuGenerator& gen, int64_t count, TorchNormalPath path, float* out) {
  if (count < 16) {
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(gen.NormalDouble());
    return;
  }
  const auto uniform = [&gen] { return Uniform24(gen); };
  if (path == TorchNormalPath::Avx2) {
    FillBlocks(out, count, uniform, Fill16Avx2);
  } else {
    FillBlocks(out, count, uniform, Fill16Scalar);
  }
}

void TorchRandn16(TorchCpuGenerator& gen, int64_t count, NoiseDType dtype, TorchNormalPath path, uint16_t* out) {
  const auto narrow = [dtype](float v) { return dtype == NoiseDType::BF16 ? F32ToBf16(v) : F32ToF16(v); };
  if (count < 16) {
    for (int64_t i = 0; i < count; ++i) out[i] = narrow(static_cast<float>(gen.NormalDouble()));
    return;
  }
  // Unlike float32, each block of 16 draws its uniforms just before it is transformed (the tail's too).
  const auto block = path == TorchNormalPath::Avx2 ? Fill16Avx2 : Fill16Scalar;
  float values[16];
  const auto drawBlock = [&](int64_t at) {
    for (float& v : values) v = Uniform24(gen);
    block(values);
    for (int k = 0; k < 16; ++k) out[at + k] = narrow(values[k]);
  };
  for (int64_t i = 0; i + 16 <= count; i += 16) drawBlock(i);
  if (count % 16 != 0) drawBlock(count - 16);
}

TorchNormalPath DetectTorchNormalPath() {
  if (const char* env = std::getenv("ATEN_CPU_CAPABILITY")) {
    std::string value(env);
    for (auto& ch : value) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (value == "avx2") return TorchNormalPath::Avx2;
    if (value == "default" || value == "avx512") return TorchNormalPath::Scalar;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (!avx512 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return TorchNormalPath::Avx2;
#endif
  return TorchNormalPath::Scalar;
}

}  // namespace tessera
