// Row kernels: LayerNorm, RMSNorm and softmax over the last axis. One block per row (rows beyond the
// grid loop), float32 block reductions; LayerNorm's variance is taken around the mean (two passes) so
// that large offsets do not cancel the way E[x²] − E[x]² would.
#include <string>

#include "common.cuh"

namespace tessera_cuda {
namespace {

constexpr unsigned kMaxBlock = 256;

unsigned BlockFor(size_t cols) {
  unsigned block = 32;
  while (block < kMaxBlock && block < cols) block <<= 1;
  return block;
}

unsigned RowGrid(size_t rows) { return static_cast<unsigned>(rows < (1u << 20) ? rows : (1u << 20)); }

// Mean and 1/sqrt(variance + eps) of one row, every thread of the block getting both.
template <typename T>
__device__ __forceinline__ void RowMoments(const T* row, size_t cols, float eps, float* scratch, float* mean, float* inv) {
  float sum = 0.0f;
  for (size_t c = threadIdx.x; c < cols; c += blockDim.x) sum += Load(row, c);
  *mean = BlockSum(sum, scratch) / float(cols);
  float sq = 0.0f;
  for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float d = Load(row, c) - *mean;
    sq += d * d;
  }
  *inv = rsqrtf(BlockSum(sq, scratch) / float(cols) + eps);
}

template <typename T>
__global__ void LayerNormKernel(const T* x, const T* weight, const T* bias, T* out, size_t rows, size_t cols,
                                float eps) {
  __shared__ float scratch[32];
  for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    float mean, inv;
    RowMoments(row, cols, eps, scratch, &mean, &inv);
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
      float v = (Load(row, c) - mean) * inv;
      if (weight) v *= Load(weight, c);
      if (bias) v += Load(bias, c);
      Store(out, r * cols + c, v);
    }
  }
}

// LayerNorm without affine, then x·(1 + scale[b]) + shift[b]: AdaLN-Zero's norm and modulation in one
// pass. Row r belongs to batch item r / tokens.
template <typename T>
__global__ void LayerNormModulateKernel(const T* x, const T* scale, const T* shift, T* out, size_t rows,
                                        size_t tokens, size_t cols, float eps) {
  __shared__ float scratch[32];
  for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    const size_t v = (r / tokens) * cols;
    float mean, inv;
    RowMoments(row, cols, eps, scratch, &mean, &inv);
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float normed = (Load(row, c) - mean) * inv;
      Store(out, r * cols + c, normed * (1.0f + Load(scale, v + c)) + Load(shift, v + c));
    }
  }
}

template <typename T>
__global__ void RmsNormKernel(const T* x, const T* weight, T* out, size_t rows, size_t cols, float eps) {
  __shared__ float scratch[32];
  for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    float sq = 0.0f;
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float v = Load(row, c);
      sq += v * v;
    }
    const float inv = rsqrtf(BlockSum(sq, scratch) / float(cols) + eps);
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
      float v = Load(row, c) * inv;
      if (weight) v *= Load(weight, c);
      Store(out, r * cols + c, v);
    }
  }
}

template <typename T>
__global__ void SoftmaxKernel(const T* x, T* out, size_t rows, size_t cols) {
  __shared__ float scratch[32];
  for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    float m = -INFINITY;
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, Load(row, c));
    m = BlockMax(m, scratch);
    float sum = 0.0f;
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) sum += expf(Load(row, c) - m);
    const float inv = 1.0f / BlockSum(sum, scratch);
    // Reads the input again after the reductions, so out may alias x.
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) Store(out, r * cols + c, expf(Load(row, c) - m) * inv);
  }
}

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

tessera_cuda_status tessera_cuda_layer_norm(const void* x, const void* weight, const void* bias, void* out, size_t rows,
                                            size_t cols, float eps, tessera_cuda_dtype dtype,
                                            tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_layer_norm";
  if (rows == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE(cols > 0, what, "rows have zero columns");
  TESSERA_REQUIRE(eps >= 0.0f, what, "eps must not be negative");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    LayerNormKernel<T><<<RowGrid(rows), BlockFor(cols), 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias), static_cast<T*>(out),
        rows, cols, eps);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_rms_norm(const void* x, const void* weight, void* out, size_t rows, size_t cols,
                                          float eps, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_rms_norm";
  if (rows == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE(cols > 0, what, "rows have zero columns");
  TESSERA_REQUIRE(eps >= 0.0f, what, "eps must not be negative");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    RmsNormKernel<T><<<RowGrid(rows), BlockFor(cols), 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<T*>(out), rows, cols, eps);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_layer_norm_modulate(const void* x, const void* scale, const void* shift, void* out,
                                                     size_t batch, size_t tokens, size_t dim, float eps,
                                                     tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_layer_norm_modulate";
  const size_t rows = batch * tokens;
  if (rows == 0) return kOk;
  TESSERA_REQUIRE(x && scale && shift && out, what, "null pointer");
  TESSERA_REQUIRE(dim > 0, what, "rows have zero columns");
  TESSERA_REQUIRE(eps >= 0.0f, what, "eps must not be negative");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    LayerNormModulateKernel<T><<<RowGrid(rows), BlockFor(dim), 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(scale), static_cast<const T*>(shift), static_cast<T*>(out),
        rows, tokens, dim, eps);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_softmax(const void* x, void* out, size_t rows, size_t cols, tessera_cuda_dtype dtype,
                                         tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_softmax";
  if (rows == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE(cols > 0, what, "rows have zero columns");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    SoftmaxKernel<T><<<RowGrid(rows), BlockFor(cols), 0, Native(stream)>>>(static_cast<const T*>(x),
                                                                           static_cast<T*>(out), rows, cols);
    return CheckLaunch(what);
  });
}

}  // extern "C"
