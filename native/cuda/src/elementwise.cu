// Elementwise kernels: dtype conversion, + − · ÷ with a repeating second operand, affine, GELU-tanh, SiLU,
// AdaLN modulation and gated residuals. Grid-stride loops, float32 arithmetic, storage in T.
#include <string>

#include "common.cuh"

namespace tessera_cuda {
namespace {

constexpr unsigned kBlock = 256;

template <typename Src, typename Dst>
__global__ void ConvertKernel(const Src* src, Dst* dst, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    Store(dst, i, Load(src, i));
}

template <typename T>
__global__ void BinaryKernel(int op, const T* a, const T* b, size_t b_n, T* out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float x = Load(a, i), y = Load(b, i % b_n);
    float r;
    switch (op) {
      case TESSERA_CUDA_ADD: r = x + y; break;
      case TESSERA_CUDA_SUB: r = x - y; break;
      case TESSERA_CUDA_MUL: r = x * y; break;
      default: r = x / y; break;
    }
    Store(out, i, r);
  }
}

template <typename T>
__global__ void AffineKernel(const T* x, T* out, size_t n, float mul, float add) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    Store(out, i, Load(x, i) * mul + add);
}

__device__ __forceinline__ float GeluTanh(float x) {
  const float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

__device__ __forceinline__ float Silu(float x) { return x / (1.0f + expf(-x)); }

template <typename T>
__global__ void UnaryKernel(int op, const T* x, T* out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float v = Load(x, i);
    Store(out, i, op == TESSERA_CUDA_GELU_TANH ? GeluTanh(v) : Silu(v));
  }
}

// x, out: [B, N, D]; scale, shift: [B, D] (one AdaLN vector per batch item).
template <typename T>
__global__ void ModulateKernel(const T* x, const T* scale, const T* shift, T* out, size_t tokens, size_t dim, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t d = i % dim, b = i / (dim * tokens);
    const size_t v = b * dim + d;
    Store(out, i, Load(x, i) * (1.0f + Load(scale, v)) + Load(shift, v));
  }
}

template <typename T>
__global__ void GatedResidualKernel(const T* residual, const T* gate, const T* y, T* out, size_t tokens, size_t dim,
                                    size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t d = i % dim, b = i / (dim * tokens);
    Store(out, i, Load(residual, i) + Load(gate, b * dim + d) * Load(y, i));
  }
}

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

tessera_cuda_status tessera_cuda_convert(const void* src, tessera_cuda_dtype src_dtype, void* dst,
                                         tessera_cuda_dtype dst_dtype, size_t n, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_convert";
  if (n == 0) return kOk;
  TESSERA_REQUIRE(src && dst, what, "null pointer");
  TESSERA_REQUIRE(ValidDtype(src_dtype) && ValidDtype(dst_dtype), what, "unknown dtype");
  const unsigned grid = GridFor(n, kBlock);
  cudaStream_t s = Native(stream);
  if (src_dtype == TESSERA_CUDA_F32 && dst_dtype == TESSERA_CUDA_BF16)
    ConvertKernel<<<grid, kBlock, 0, s>>>(static_cast<const float*>(src), static_cast<__nv_bfloat16*>(dst), n);
  else if (src_dtype == TESSERA_CUDA_BF16 && dst_dtype == TESSERA_CUDA_F32)
    ConvertKernel<<<grid, kBlock, 0, s>>>(static_cast<const __nv_bfloat16*>(src), static_cast<float*>(dst), n);
  else
    return tessera_cuda_memcpy_d2d(dst, src, n * (src_dtype == TESSERA_CUDA_F32 ? 4 : 2), stream);
  return CheckLaunch(what);
}

tessera_cuda_status tessera_cuda_binary(tessera_cuda_binary_op op, const void* a, size_t n, const void* b, size_t b_n,
                                        void* out, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_binary";
  if (n == 0) return kOk;
  TESSERA_REQUIRE(a && b && out, what, "null pointer");
  TESSERA_REQUIRE(op == TESSERA_CUDA_ADD || op == TESSERA_CUDA_SUB || op == TESSERA_CUDA_MUL || op == TESSERA_CUDA_DIV,
                  what, "unknown op " + std::to_string(int(op)));
  TESSERA_REQUIRE(b_n > 0 && n % b_n == 0, what,
                  "second operand has " + std::to_string(b_n) + " elements, which does not divide " + std::to_string(n));
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    BinaryKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(int(op), static_cast<const T*>(a),
                                                                       static_cast<const T*>(b), b_n,
                                                                       static_cast<T*>(out), n);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_unary(tessera_cuda_unary_op op, const void* x, void* out, size_t n,
                                       tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_unary";
  if (n == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE(op == TESSERA_CUDA_GELU_TANH || op == TESSERA_CUDA_SILU, what, "unknown op " + std::to_string(int(op)));
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    UnaryKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(int(op), static_cast<const T*>(x),
                                                                      static_cast<T*>(out), n);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_affine(const void* x, void* out, size_t n, float mul, float add,
                                        tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_affine";
  if (n == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    AffineKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(static_cast<const T*>(x), static_cast<T*>(out),
                                                                       n, mul, add);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_modulate(const void* x, const void* scale, const void* shift, void* out, size_t batch,
                                          size_t tokens, size_t dim, tessera_cuda_dtype dtype,
                                          tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_modulate";
  const size_t n = batch * tokens * dim;
  if (n == 0) return kOk;
  TESSERA_REQUIRE(x && scale && shift && out, what, "null pointer");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    ModulateKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(scale), static_cast<const T*>(shift), static_cast<T*>(out),
        tokens, dim, n);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_gated_residual(const void* residual, const void* gate, const void* y, void* out,
                                                size_t batch, size_t tokens, size_t dim, tessera_cuda_dtype dtype,
                                                tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_gated_residual";
  const size_t n = batch * tokens * dim;
  if (n == 0) return kOk;
  TESSERA_REQUIRE(residual && gate && y && out, what, "null pointer");
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    GatedResidualKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(residual), static_cast<const T*>(gate), static_cast<const T*>(y), static_cast<T*>(out),
        tokens, dim, n);
    return CheckLaunch(what);
  });
}

}  // extern "C"
