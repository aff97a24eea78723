// Image kernels for the VAE decoder, layout [N, C, H, W]: GroupNorm, direct convolution and nearest
// upsampling. The convolution gives each thread one output value and walks c_in × kh × kw taps; it needs
// no scratch memory, which matters at 1024² where an im2col buffer would take gigabytes.
#include <string>

#include "common.cuh"

namespace tessera_cuda {
namespace {

constexpr unsigned kBlock = 256;

// One block per (sample, group); two passes so the variance is taken around the mean.
template <typename T>
__global__ void GroupNormKernel(const T* x, const T* weight, const T* bias, T* out, size_t channels, size_t spatial,
                                size_t groups, size_t total_groups, float eps) {
  __shared__ float scratch[32];
  const size_t per_group = channels / groups;
  const size_t count = per_group * spatial;
  for (size_t ng = blockIdx.x; ng < total_groups; ng += gridDim.x) {
    const size_t base = ng * count;  // groups are contiguous: [n][group][channel in group][spatial]
    const size_t first_channel = (ng % groups) * per_group;
    float sum = 0.0f;
    for (size_t i = threadIdx.x; i < count; i += blockDim.x) sum += Load(x, base + i);
    const float mean = BlockSum(sum, scratch) / float(count);
    float sq = 0.0f;
    for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
      const float d = Load(x, base + i) - mean;
      sq += d * d;
    }
    const float inv = rsqrtf(BlockSum(sq, scratch) / float(count) + eps);
    for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
      const size_t c = first_channel + i / spatial;
      float v = (Load(x, base + i) - mean) * inv;
      if (weight) v *= Load(weight, c);
      if (bias) v += Load(bias, c);
      Store(out, base + i, v);
    }
  }
}

struct ConvGeometry {
  size_t c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_h, pad_w, out_h, out_w;
};

template <typename T>
__global__ void Conv2dKernel(const T* x, const T* weight, const T* bias, T* out, ConvGeometry g, size_t total) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t ox = i % g.out_w, oy = (i / g.out_w) % g.out_h;
    const size_t o = (i / (g.out_w * g.out_h)) % g.c_out, n = i / (g.out_w * g.out_h * g.c_out);
    float acc = bias ? Load(bias, o) : 0.0f;
    // Signed so that padding (a tap left of or above the image) compares correctly.
    const long long y0 = (long long)(oy * g.stride_h) - (long long)g.pad_h;
    const long long x0 = (long long)(ox * g.stride_w) - (long long)g.pad_w;
    for (size_t c = 0; c < g.c_in; ++c) {
      const size_t x_plane = (n * g.c_in + c) * g.h * g.w;
      const size_t w_plane = (o * g.c_in + c) * g.kh * g.kw;
      for (size_t ky = 0; ky < g.kh; ++ky) {
        const long long iy = y0 + (long long)ky;
        if (iy < 0 || iy >= (long long)g.h) continue;
        for (size_t kx = 0; kx < g.kw; ++kx) {
          const long long ix = x0 + (long long)kx;
          if (ix < 0 || ix >= (long long)g.w) continue;
          acc += Load(x, x_plane + size_t(iy) * g.w + size_t(ix)) * Load(weight, w_plane + ky * g.kw + kx);
        }
      }
    }
    Store(out, i, acc);
  }
}

template <typename T>
__global__ void UpsampleNearestKernel(const T* x, T* out, size_t h, size_t w, size_t fh, size_t fw, size_t total) {
  const size_t out_h = h * fh, out_w = w * fw;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t ox = i % out_w, oy = (i / out_w) % out_h, plane = i / (out_w * out_h);
    out[i] = x[(plane * h + oy / fh) * w + ox / fw];
  }
}

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

tessera_cuda_status tessera_cuda_group_norm(const void* x, const void* weight, const void* bias, void* out, size_t n,
                                            size_t channels, size_t spatial, size_t groups, float eps,
                                            tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_group_norm";
  if (n == 0 || spatial == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE(groups > 0 && channels % groups == 0, what,
                  std::to_string(channels) + " channels do not split into " + std::to_string(groups) + " groups");
  TESSERA_REQUIRE(eps >= 0.0f, what, "eps must not be negative");
  const size_t total_groups = n * groups;
  const unsigned grid = static_cast<unsigned>(total_groups < (1u << 20) ? total_groups : (1u << 20));
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    GroupNormKernel<T><<<grid, kBlock, 0, Native(stream)>>>(static_cast<const T*>(x), static_cast<const T*>(weight),
                                                            static_cast<const T*>(bias), static_cast<T*>(out), channels,
                                                            spatial, groups, total_groups, eps);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_conv2d(const void* x, const void* weight, const void* bias, void* out, size_t n,
                                        size_t c_in, size_t h, size_t w, size_t c_out, size_t kh, size_t kw,
                                        size_t stride_h, size_t stride_w, size_t pad_h, size_t pad_w,
                                        tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_conv2d";
  TESSERA_REQUIRE(stride_h > 0 && stride_w > 0, what, "stride must be positive");
  TESSERA_REQUIRE(kh > 0 && kw > 0, what, "kernel size must be positive");
  TESSERA_REQUIRE(h + 2 * pad_h >= kh && w + 2 * pad_w >= kw, what,
                  "the kernel (" + std::to_string(kh) + "×" + std::to_string(kw) + ") is larger than the padded input");
  ConvGeometry g{c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_h, pad_w,
                 (h + 2 * pad_h - kh) / stride_h + 1, (w + 2 * pad_w - kw) / stride_w + 1};
  const size_t total = n * c_out * g.out_h * g.out_w;
  if (total == 0) return kOk;
  TESSERA_REQUIRE(x && weight && out, what, "null pointer");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    Conv2dKernel<T><<<GridFor(total, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias), static_cast<T*>(out), g,
        total);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_upsample_nearest(const void* x, void* out, size_t n, size_t c, size_t h, size_t w,
                                                  size_t factor_h, size_t factor_w, tessera_cuda_dtype dtype,
                                                  tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_upsample_nearest";
  TESSERA_REQUIRE(factor_h > 0 && factor_w > 0, what, "factors must be positive");
  const size_t total = n * c * h * factor_h * w * factor_w;
  if (total == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE(x != out, what, "cannot upsample in place");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    UpsampleNearestKernel<T><<<GridFor(total, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<T*>(out), h, w, factor_h, factor_w, total);
    return CheckLaunch(what);
  });
}

}  // extern "C"
