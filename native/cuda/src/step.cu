// What a denoising step does besides the transformer, on the device so that nothing crosses to the host
// inside a step: the Euler update, the classifier-free guidance combine, Ring attention's log-sum-exp
// merge, and the sinusoidal timestep embedding (its timesteps travel as kernel arguments).
//
// The update and the combine round every operation to float32 in torch's order, with explicit
// __fmul_rn/__fadd_rn: nvcc would otherwise contract a·b + c into one fused multiply-add, which rounds
// once and so differs from torch (and from the CPU path) in the last bit.
#include <cmath>
#include <string>

#include "common.cuh"

namespace tessera_cuda {
namespace {

constexpr unsigned kBlock = 256;

template <typename TX, typename TY>
__global__ void ScaledAddKernel(const TX* x, const TY* y, float alpha, TX* out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    Store(out, i, __fadd_rn(Load(x, i), __fmul_rn(alpha, Load(y, i))));
}

template <typename T>
__global__ void GuidanceKernel(const T* uncond, const T* cond, float scale, T* out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float u = Load(uncond, i);
    Store(out, i, __fadd_rn(u, __fmul_rn(scale, __fsub_rn(Load(cond, i), u))));
  }
}

// One warp per (batch, query, head) row: the row's two weights come from its pair of lse values, and
// only this warp touches the row, so the lse can be updated in place after every lane has read it.
template <typename TA, typename TB>
__global__ void LseMergeKernel(TA* o, float* lse, const TB* block_out, const float* block_lse, size_t rows,
                               size_t q_len, size_t heads, size_t head_dim) {
  const unsigned lane = threadIdx.x & 31, warps_per_block = blockDim.x >> 5;
  const size_t stride = size_t(gridDim.x) * warps_per_block;
  for (size_t r = size_t(blockIdx.x) * warps_per_block + (threadIdx.x >> 5); r < rows; r += stride) {
    const size_t h = r % heads, t = (r / heads) % q_len, b = r / (heads * q_len);
    const size_t li = (b * heads + h) * q_len + t;
    const float a = lse[li], c = block_lse[li];
    const float m = fmaxf(a, c);
    float fa = 1.0f, fc = 0.0f, merged = a;
    if (m != -INFINITY) {  // both −inf: neither side saw a key; keep the running result as it is
      const float wa = expf(a - m), wc = expf(c - m), sum = wa + wc;
      fa = wa / sum;
      fc = wc / sum;
      merged = m + logf(sum);
    }
    for (size_t d = lane; d < head_dim; d += 32) {
      const size_t i = r * head_dim + d;
      Store(o, i, fa * Load(o, i) + fc * Load(block_out, i));
    }
    __syncwarp();
    if (lane == 0) lse[li] = merged;
  }
}

// Timesteps by value: a launch takes up to this many, larger batches take several launches.
constexpr size_t kTimestepsPerLaunch = 32;
struct Timesteps {
  float t[kTimestepsPerLaunch];
};

template <typename T>
__global__ void TimestepSinusoidKernel(Timesteps ts, size_t count, size_t half, bool flip, float neg_log_period,
                                       float denominator, T* out) {
  const size_t n = count * half;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t b = i / half, j = i % half;
    // torch: exponent = (−ln(max_period) · j) / (half − shift) in float32, exp, then t · ω in float32.
    const float omega = expf(__fdiv_rn(__fmul_rn(neg_log_period, float(j)), denominator));
    const float arg = __fmul_rn(ts.t[b], omega);
    const float s = sinf(arg), c = cosf(arg);
    T* row = out + b * 2 * half;
    Store(row, flip ? j : half + j, c);
    Store(row, flip ? half + j : j, s);
  }
}

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

tessera_cuda_status tessera_cuda_scaled_add(const void* x, tessera_cuda_dtype x_dtype, const void* y,
                                            tessera_cuda_dtype y_dtype, float alpha, void* out, size_t n,
                                            tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_scaled_add";
  if (n == 0) return kOk;
  TESSERA_REQUIRE(x && y && out, what, "null pointer");
  TESSERA_REQUIRE(ValidDtype(y_dtype), what, "unknown dtype of y");
  return DispatchDtype(x_dtype, what, [&](auto* x_tag) {
    using TX = std::remove_pointer_t<decltype(x_tag)>;
    return DispatchDtype(y_dtype, what, [&](auto* y_tag) {
      using TY = std::remove_pointer_t<decltype(y_tag)>;
      ScaledAddKernel<TX, TY><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(
          static_cast<const TX*>(x), static_cast<const TY*>(y), alpha, static_cast<TX*>(out), n);
      return CheckLaunch(what);
    });
  });
}

tessera_cuda_status tessera_cuda_guidance_combine(const void* uncond, const void* cond, float scale, void* out,
                                                  size_t n, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_guidance_combine";
  if (n == 0) return kOk;
  TESSERA_REQUIRE(uncond && cond && out, what, "null pointer");
  TESSERA_REQUIRE(std::isfinite(scale), what, "guidance scale must be finite");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    GuidanceKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(uncond), static_cast<const T*>(cond), scale, static_cast<T*>(out), n);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_lse_merge(void* o, float* lse, tessera_cuda_dtype acc_dtype, const void* block_out,
                                           const float* block_lse, tessera_cuda_dtype block_dtype, size_t batch,
                                           size_t q_len, size_t heads, size_t head_dim, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_lse_merge";
  const size_t rows = batch * q_len * heads;
  if (rows == 0 || head_dim == 0) return kOk;
  TESSERA_REQUIRE(o && lse && block_out && block_lse, what, "null pointer");
  TESSERA_REQUIRE(ValidDtype(block_dtype), what, "unknown dtype of the block output");
  constexpr unsigned kWarps = 8;
  size_t blocks = (rows + kWarps - 1) / kWarps;
  if (blocks > 65535u * 8u) blocks = 65535u * 8u;
  return DispatchDtype(acc_dtype, what, [&](auto* a_tag) {
    using TA = std::remove_pointer_t<decltype(a_tag)>;
    return DispatchDtype(block_dtype, what, [&](auto* b_tag) {
      using TB = std::remove_pointer_t<decltype(b_tag)>;
      LseMergeKernel<TA, TB><<<unsigned(blocks), kWarps * 32, 0, Native(stream)>>>(
          static_cast<TA*>(o), lse, static_cast<const TB*>(block_out), block_lse, rows, q_len, heads, head_dim);
      return CheckLaunch(what);
    });
  });
}

tessera_cuda_status tessera_cuda_timestep_sinusoid(const float* timesteps, size_t batch, size_t channels,
                                                   int flip_sin_to_cos, float downscale_freq_shift, float max_period,
                                                   void* out, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_timestep_sinusoid";
  if (batch == 0) return kOk;
  TESSERA_REQUIRE(timesteps && out, what, "null pointer");
  TESSERA_REQUIRE(channels >= 2 && channels % 2 == 0, what, "channels must be even and ≥ 2, got " + std::to_string(channels));
  TESSERA_REQUIRE(max_period > 1.0f, what, "max_period must be > 1");
  const size_t half = channels / 2;
  const float denominator = float(half) - downscale_freq_shift;
  TESSERA_REQUIRE(denominator > 0.0f, what, "downscale_freq_shift must be below channels / 2");
  // −ln(max_period) as torch rounds the Python float to float32 before multiplying the float32 range.
  const float neg_log_period = float(-std::log(double(max_period)));
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (size_t first = 0; first < batch; first += kTimestepsPerLaunch) {
      const size_t count = batch - first < kTimestepsPerLaunch ? batch - first : kTimestepsPerLaunch;
      Timesteps ts{};
      for (size_t i = 0; i < count; ++i) ts.t[i] = timesteps[first + i];
      TimestepSinusoidKernel<T><<<GridFor(count * half, kBlock), kBlock, 0, Native(stream)>>>(
          ts, count, half, flip_sin_to_cos != 0, neg_log_period, denominator, static_cast<T*>(out) + first * channels);
      if (auto s = CheckLaunch(what)) return s;
    }
    return kOk;
  });
}

}  // extern "C"
