// The CUDA backend as the rest of the addon sees it: a table of the C ABI functions of
// libtessera_cuda.so (native/cuda/include/tessera_cuda.h), loaded on first use. The addon never links
// against CUDA, so a CPU-only build and machine work unchanged; asking for CUDA there gets a reason.
//
// Use:
//   std::string whyNot;
//   const tessera::cuda::CudaApi* cuda = tessera::cuda::Api(&whyNot);
//   if (!cuda) throw tessera::Error("device 'cuda' is not available: " + whyNot);
//   tessera::cuda::Check(*cuda, cuda->layer_norm(x, w, b, out, rows, cols, eps, TESSERA_CUDA_BF16, stream),
//                        "layer_norm");
#pragma once

#include <string>

#include "../../cuda/include/tessera_cuda.h"

namespace tessera::cuda {

struct CudaApi {
  // Library and errors
  int (*abi_version)(void);
  const char* (*last_error)(void);
  tessera_cuda_status (*versions)(int* runtime_version, int* driver_version);
  tessera_cuda_status (*library_info)(tessera_cuda_library library, char* path, size_t path_size, int* version);
  // Devices and memory
  tessera_cuda_status (*device_count)(int* count);
  tessera_cuda_status (*device_info_get)(int device, tessera_cuda_device_info* info);
  tessera_cuda_status (*set_device)(int device);
  tessera_cuda_status (*get_device)(int* device);
  tessera_cuda_status (*malloc)(void** ptr, size_t bytes);
  tessera_cuda_status (*free)(void* ptr);
  tessera_cuda_status (*memcpy_h2d)(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t stream);
  tessera_cuda_status (*memcpy_d2h)(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t stream);
  tessera_cuda_status (*memcpy_d2d)(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t stream);
  tessera_cuda_status (*memset_zero)(void* dst, size_t bytes, tessera_cuda_stream_t stream);
  tessera_cuda_status (*malloc_async)(void** ptr, size_t bytes, tessera_cuda_stream_t stream);
  tessera_cuda_status (*free_async)(void* ptr, tessera_cuda_stream_t stream);
  // Streams
  tessera_cuda_status (*stream_create)(tessera_cuda_stream_t* stream);
  tessera_cuda_status (*stream_destroy)(tessera_cuda_stream_t stream);
  tessera_cuda_status (*stream_synchronize)(tessera_cuda_stream_t stream);
  // Kernels
  tessera_cuda_status (*convert)(const void* src, tessera_cuda_dtype src_dtype, void* dst, tessera_cuda_dtype dst_dtype,
                                 size_t n, tessera_cuda_stream_t stream);
  tessera_cuda_status (*binary)(tessera_cuda_binary_op op, const void* a, size_t n, const void* b, size_t b_n,
                                void* out, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*unary)(tessera_cuda_unary_op op, const void* x, void* out, size_t n, tessera_cuda_dtype dtype,
                               tessera_cuda_stream_t stream);
  tessera_cuda_status (*scaled_add)(const void* x, tessera_cuda_dtype x_dtype, const void* y, tessera_cuda_dtype y_dtype,
                                    float alpha, void* out, size_t n, tessera_cuda_stream_t stream);
  tessera_cuda_status (*guidance_combine)(const void* uncond, const void* cond, float scale, void* out, size_t n,
                                          tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*affine)(const void* x, void* out, size_t n, float mul, float add, tessera_cuda_dtype dtype,
                                tessera_cuda_stream_t stream);
  tessera_cuda_status (*modulate)(const void* x, const void* scale, const void* shift, void* out, size_t batch,
                                  size_t tokens, size_t dim, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*gated_residual)(const void* residual, const void* gate, const void* y, void* out, size_t batch,
                                        size_t tokens, size_t dim, tessera_cuda_dtype dtype,
                                        tessera_cuda_stream_t stream);
  tessera_cuda_status (*layer_norm)(const void* x, const void* weight, const void* bias, void* out, size_t rows,
                                    size_t cols, float eps, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*rms_norm)(const void* x, const void* weight, void* out, size_t rows, size_t cols, float eps,
                                  tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*layer_norm_modulate)(const void* x, const void* scale, const void* shift, void* out, size_t batch,
                                             size_t tokens, size_t dim, float eps, tessera_cuda_dtype dtype,
                                             tessera_cuda_stream_t stream);
  tessera_cuda_status (*softmax)(const void* x, void* out, size_t rows, size_t cols, tessera_cuda_dtype dtype,
                                 tessera_cuda_stream_t stream);
  tessera_cuda_status (*rope)(const void* x, const float* cos, const float* sin, void* out, size_t batch, size_t seq,
                              size_t heads, size_t head_dim, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*rms_norm_rope)(const void* x, const void* weight, const float* cos, const float* sin, void* out,
                                       size_t batch, size_t seq, size_t heads, size_t head_dim, float eps, size_t out_seq,
                                       size_t out_offset, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*timestep_sinusoid)(const float* timesteps, size_t batch, size_t channels, int flip_sin_to_cos,
                                           float downscale_freq_shift, float max_period, void* out,
                                           tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*attention)(const void* q, const void* k, const void* v, void* out, float* lse, size_t batch,
                                   size_t q_len, size_t kv_len, size_t heads, size_t head_dim, float scale,
                                   tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*attention_cudnn)(const void* q, const void* k, const void* v, void* out, float* lse, size_t batch,
                                         size_t q_len, size_t kv_len, size_t heads, size_t head_dim, float scale,
                                         tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*lse_merge)(void* o, float* lse, tessera_cuda_dtype acc_dtype, const void* block_out,
                                   const float* block_lse, tessera_cuda_dtype block_dtype, size_t batch, size_t q_len,
                                   size_t heads, size_t head_dim, tessera_cuda_stream_t stream);
  tessera_cuda_status (*permute)(const void* src, void* dst, int rank, const int64_t* shape, const int* perm,
                                 tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*copy_2d)(const void* src, size_t src_stride, void* dst, size_t dst_stride, size_t rows,
                                 size_t cols, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*concat)(const void* a, size_t a_inner, const void* b, size_t b_inner, void* out, size_t outer,
                                tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
  tessera_cuda_status (*group_norm)(const void* x, const void* weight, const void* bias, void* out, size_t n,
                                    size_t channels, size_t spatial, size_t groups, float eps, tessera_cuda_dtype dtype,
                                    tessera_cuda_stream_t stream);
  tessera_cuda_status (*conv2d)(const void* x, const void* weight, const void* bias, void* out, size_t n, size_t c_in,
                                size_t h, size_t w, size_t c_out, size_t kh, size_t kw, size_t stride_h,
                                size_t stride_w, size_t pad_h, size_t pad_w, tessera_cuda_dtype dtype,
                                tessera_cuda_stream_t stream);
  tessera_cuda_status (*upsample_nearest)(const void* x, void* out, size_t n, size_t c, size_t h, size_t w,
                                          size_t factor_h, size_t factor_w, tessera_cuda_dtype dtype,
                                          tessera_cuda_stream_t stream);
  tessera_cuda_status (*gemm)(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const void* a,
                              const void* b, float beta, void* c, tessera_cuda_dtype dtype,
                              tessera_cuda_stream_t stream);
  tessera_cuda_status (*linear)(const void* x, const void* w, const void* bias, void* out, size_t m, size_t n, size_t k,
                                tessera_cuda_epilogue epilogue, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
};

// The loaded backend, or nullptr with *whyNot set to one of:
//   "libtessera_cuda.so was not built (no nvcc) …", "no CUDA driver (libcuda.so.1 not found) …",
//   "no CUDA device", or a load / ABI / driver error naming its cause.
// Loads once per process (thread-safe); later calls return the same answer. whyNot may be null.
const CudaApi* Api(std::string* whyNot);

// Where the loader looks for libtessera_cuda.so: $TESSERA_CUDA_LIB, else native/cuda/build/ next to
// this addon's build folder.
std::string LibraryPath();

// Throws tessera::Error("<what>: <library's last error>") when status is not 0.
void Check(const CudaApi& api, tessera_cuda_status status, const char* what);

}  // namespace tessera::cuda
