// Device helpers shared by the kernels of libtessera_cuda: grid sizing, float32 ⇄ storage loads and
// stores, dtype dispatch and warp/block reductions (statuses and argument checks: status.h).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "status.h"

namespace tessera_cuda {

// Grid size for a grid-stride loop over n items: enough blocks to fill the device, never zero.
inline unsigned GridFor(size_t n, unsigned block) {
  size_t blocks = (n + block - 1) / block;
  if (blocks == 0) blocks = 1;
  if (blocks > 65535u * 8u) blocks = 65535u * 8u;
  return static_cast<unsigned>(blocks);
}

// Float32 arithmetic over either storage type.
__device__ __forceinline__ float Load(const float* p, size_t i) { return p[i]; }
__device__ __forceinline__ float Load(const __nv_bfloat16* p, size_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void Store(float* p, size_t i, float v) { p[i] = v; }
__device__ __forceinline__ void Store(__nv_bfloat16* p, size_t i, float v) { p[i] = __float2bfloat16_rn(v); }

// Calls launch.template operator()<T>() with T the storage type of dtype.
template <typename Launch>
tessera_cuda_status DispatchDtype(tessera_cuda_dtype dtype, const char* what, Launch&& launch) {
  switch (dtype) {
    case TESSERA_CUDA_F32:
      return launch(static_cast<float*>(nullptr));
    case TESSERA_CUDA_BF16:
      return launch(static_cast<__nv_bfloat16*>(nullptr));
  }
  return Fail(kInvalidArgument, std::string(what) + ": unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

// Warp and block reductions (blockDim.x a multiple of 32, at most 1024).
__device__ __forceinline__ float WarpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ __forceinline__ float WarpMax(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
// Every thread of the block gets the result; `scratch` holds 32 floats in shared memory.
__device__ __forceinline__ float BlockSum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = WarpSum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.0f;
  return WarpSum(v);
}
__device__ __forceinline__ float BlockMax(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = WarpMax(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return WarpMax(v);
}

}  // namespace tessera_cuda

