// Layout copies: N-d permutation (e.g. [B,S,H,D] ⇄ [B,H,S,D] around the Ulysses all-to-all) and strided
// 2-D copies, which concat and split along any axis reduce to. Copies move raw elements of the storage
// type, so bf16 values pass through bit-exact.
#include <string>

#include "common.cuh"

namespace tessera_cuda {
namespace {

struct PermuteGeometry {
  int rank;
  size_t dst_shape[TESSERA_CUDA_MAX_RANK];
  size_t src_stride_for_dst_axis[TESSERA_CUDA_MAX_RANK];  // src stride of the axis that lands at dst axis i
};

template <typename T>
__global__ void PermuteKernel(const T* src, T* dst, PermuteGeometry g, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    size_t rest = i, offset = 0;
    for (int axis = g.rank - 1; axis >= 0; --axis) {
      const size_t coord = rest % g.dst_shape[axis];
      rest /= g.dst_shape[axis];
      offset += coord * g.src_stride_for_dst_axis[axis];
    }
    dst[i] = src[offset];
  }
}

template <typename T>
__global__ void Copy2dKernel(const T* src, size_t src_stride, T* dst, size_t dst_stride, size_t cols, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t r = i / cols, c = i % cols;
    dst[r * dst_stride + c] = src[r * src_stride + c];
  }
}

// Raw element types: copies need the width, not the arithmetic.
using Bits32 = uint32_t;
using Bits16 = uint16_t;

template <typename Launch>
tessera_cuda_status DispatchWidth(tessera_cuda_dtype dtype, const char* what, Launch&& launch) {
  switch (dtype) {
    case TESSERA_CUDA_F32:
      return launch(static_cast<Bits32*>(nullptr));
    case TESSERA_CUDA_BF16:
      return launch(static_cast<Bits16*>(nullptr));
  }
  return Fail(kInvalidArgument, std::string(what) + ": unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

constexpr unsigned kBlock = 256;

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

tessera_cuda_status tessera_cuda_permute(const void* src, void* dst, int rank, const int64_t* shape, const int* perm,
                                         tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_permute";
  TESSERA_REQUIRE(shape && perm, what, "null shape or perm");
  TESSERA_REQUIRE(rank >= 1 && rank <= TESSERA_CUDA_MAX_RANK, what,
                  "rank " + std::to_string(rank) + " is outside 1.." + std::to_string(TESSERA_CUDA_MAX_RANK));
  PermuteGeometry g{};
  g.rank = rank;
  size_t src_strides[TESSERA_CUDA_MAX_RANK];
  size_t n = 1;
  for (int axis = rank - 1; axis >= 0; --axis) {
    TESSERA_REQUIRE(shape[axis] >= 0, what, "negative dimension at axis " + std::to_string(axis));
    src_strides[axis] = n;
    n *= size_t(shape[axis]);
  }
  bool seen[TESSERA_CUDA_MAX_RANK] = {};
  for (int axis = 0; axis < rank; ++axis) {
    const int from = perm[axis];
    TESSERA_REQUIRE(from >= 0 && from < rank && !seen[from], what, "perm is not a permutation of 0.." + std::to_string(rank - 1));
    seen[from] = true;
    g.dst_shape[axis] = size_t(shape[from]);
    g.src_stride_for_dst_axis[axis] = src_strides[from];
  }
  if (n == 0) return kOk;
  TESSERA_REQUIRE(src && dst, what, "null pointer");
  TESSERA_REQUIRE(src != dst, what, "cannot permute in place");
  return DispatchWidth(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    PermuteKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(static_cast<const T*>(src),
                                                                        static_cast<T*>(dst), g, n);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_copy_2d(const void* src, size_t src_stride, void* dst, size_t dst_stride, size_t rows,
                                         size_t cols, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_copy_2d";
  const size_t n = rows * cols;
  if (n == 0) return kOk;
  TESSERA_REQUIRE(src && dst, what, "null pointer");
  TESSERA_REQUIRE(src_stride >= cols && dst_stride >= cols, what, "a stride is smaller than the row length");
  return DispatchWidth(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    Copy2dKernel<T><<<GridFor(n, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(src), src_stride, static_cast<T*>(dst), dst_stride, cols, n);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_concat(const void* a, size_t a_inner, const void* b, size_t b_inner, void* out,
                                        size_t outer, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  TESSERA_REQUIRE(ValidDtype(dtype), "tessera_cuda_concat", "unknown dtype");
  const size_t width = a_inner + b_inner;
  const size_t element = dtype == TESSERA_CUDA_F32 ? 4 : 2;
  if (auto s = tessera_cuda_copy_2d(a, a_inner, out, width, outer, a_inner, dtype, stream)) return s;
  return tessera_cuda_copy_2d(b, b_inner, static_cast<char*>(out) + a_inner * element, width, outer, b_inner, dtype,
                              stream);
}

}  // extern "C"
