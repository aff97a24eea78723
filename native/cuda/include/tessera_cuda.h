// tessera_cuda: the flat C ABI of the CUDA backend (libtessera_cuda.so, built by nvcc).
//
// The addon never links against this library: it dlopens it (native/src/cuda/) so that a CPU-only build
// and machine work unchanged. Everything crossing the boundary is a C type; CUDA types appear only as
// opaque pointers. Bump TESSERA_CUDA_ABI_VERSION whenever a signature or an enum value changes: the
// loader refuses a library whose tessera_cuda_abi_version() differs from the header it was compiled with.
//
// Conventions:
// - Every function that can fail returns tessera_cuda_status (0 = success). On failure the message is
//   kept per thread and read with tessera_cuda_last_error().
// - Kernel launches are asynchronous on the given stream (NULL = the legacy default stream); argument
//   checks happen before the launch, launch errors are reported at once, execution errors at the next
//   synchronising call.
// - Tensors are dense and row-major. dtype selects the storage of every tensor argument of a call
//   unless a parameter says otherwise; arithmetic is always float32.
#ifndef TESSERA_CUDA_H
#define TESSERA_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_CUDA_ABI_VERSION 2

#if defined(__GNUC__)
#define TESSERA_CUDA_API __attribute__((visibility("default")))
#else
#define TESSERA_CUDA_API
#endif

typedef int tessera_cuda_status;  // 0 = success, otherwise see tessera_cuda_last_error()

// Status values. UNSUPPORTED means "this entry point cannot run this call here" (a library that is not
// installed, a dtype or shape its engine does not cover): the caller may take another path. The others
// are errors.
#define TESSERA_CUDA_OK 0
#define TESSERA_CUDA_INVALID_ARGUMENT 1
#define TESSERA_CUDA_FAILURE 2
#define TESSERA_CUDA_LIBRARY_MISSING 3
#define TESSERA_CUDA_INTERNAL 4
#define TESSERA_CUDA_UNSUPPORTED 5
typedef struct tessera_cuda_stream_s* tessera_cuda_stream_t;  // a cudaStream_t; NULL = default stream

typedef enum tessera_cuda_dtype {
  TESSERA_CUDA_F32 = 0,
  TESSERA_CUDA_BF16 = 1,
} tessera_cuda_dtype;

typedef enum tessera_cuda_binary_op {
  TESSERA_CUDA_ADD = 0,
  TESSERA_CUDA_MUL = 1,
  TESSERA_CUDA_SUB = 2,
  TESSERA_CUDA_DIV = 3,
} tessera_cuda_binary_op;

typedef enum tessera_cuda_unary_op {
  TESSERA_CUDA_GELU_TANH = 0,
  TESSERA_CUDA_SILU = 1,
} tessera_cuda_unary_op;

// What runs on the GEMM result before it is stored (cuBLASLt epilogues): nothing, or GELU with the tanh
// approximation (CUBLASLT_EPILOGUE_GELU[_BIAS], which PyTorch uses for gelu(approximate="tanh")).
typedef enum tessera_cuda_epilogue {
  TESSERA_CUDA_EPILOGUE_NONE = 0,
  TESSERA_CUDA_EPILOGUE_GELU_TANH = 1,
} tessera_cuda_epilogue;

// The NVIDIA libraries this library loads with dlopen, for tessera_cuda_library_info.
typedef enum tessera_cuda_library {
  TESSERA_CUDA_LIB_CUBLAS = 0,
  TESSERA_CUDA_LIB_CUBLASLT = 1,
  TESSERA_CUDA_LIB_CUDNN = 2,
} tessera_cuda_library;

#define TESSERA_CUDA_MAX_RANK 6

typedef struct tessera_cuda_device_info {
  char name[256];
  size_t total_memory;  // bytes
  int compute_major;
  int compute_minor;
  int multiprocessors;
} tessera_cuda_device_info;

// ---------------------------------------------------------------------------------------------------
// Library and errors
// ---------------------------------------------------------------------------------------------------

// TESSERA_CUDA_ABI_VERSION of the build; the loader compares it with its own header.
TESSERA_CUDA_API int tessera_cuda_abi_version(void);
// The last error of the calling thread ("" when none). Valid until the thread's next failing call.
TESSERA_CUDA_API const char* tessera_cuda_last_error(void);
// CUDA runtime version the library was built with, and the installed driver's version (1000·major +
// 10·minor); the driver version is 0 when no driver is installed (not an error).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_versions(int* runtime_version, int* driver_version);
// Loads one of the NVIDIA libraries now (the first use would otherwise do it) and reports the outcome:
// 0 with `path` (the file the dynamic loader opened) and `version` (the library's own version number:
// cublasLtGetVersion, cudnnGetVersion; 0 where it has none), or TESSERA_CUDA_LIBRARY_MISSING with the
// names tried and the loader's reason in tessera_cuda_last_error(). `path` gets at most path_size bytes
// including the terminating NUL.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_library_info(tessera_cuda_library library, char* path,
                                                               size_t path_size, int* version);

// ---------------------------------------------------------------------------------------------------
// Devices and memory
// ---------------------------------------------------------------------------------------------------

// Number of visible devices; fails (with the runtime's reason) when there is no usable driver.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_device_count(int* count);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_device_info_get(int device, tessera_cuda_device_info* info);
// Makes `device` current for the calling thread (every later call on that thread uses it).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_set_device(int device);
// The calling thread's current device.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_get_device(int* device);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_malloc(void** ptr, size_t bytes);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_free(void* ptr);  // NULL is accepted
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes,
                                                             tessera_cuda_stream_t stream);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes,
                                                             tessera_cuda_stream_t stream);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes,
                                                             tessera_cuda_stream_t stream);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memset_zero(void* dst, size_t bytes, tessera_cuda_stream_t stream);
// Stream-ordered allocation from the current device's memory pool (cudaMallocAsync), which keeps freed
// memory for reuse instead of returning it to the driver: no device-wide synchronisation per tensor, as
// cudaFree would cause. Memory freed on `stream` may be reused by later work on `stream` at once, so a
// buffer that another stream (a communicator's) still uses must be freed only after that work finished.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_malloc_async(void** ptr, size_t bytes, tessera_cuda_stream_t stream);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_free_async(void* ptr, tessera_cuda_stream_t stream);  // NULL accepted

// ---------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_stream_create(tessera_cuda_stream_t* stream);
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_stream_destroy(tessera_cuda_stream_t stream);  // NULL accepted
// Blocks until all work queued on the stream has finished; reports any error that work raised.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_stream_synchronize(tessera_cuda_stream_t stream);

// ---------------------------------------------------------------------------------------------------
// Elementwise kernels (n elements; in-place allowed: out may equal an input)
// ---------------------------------------------------------------------------------------------------

// dst[i] = src[i] converted (f32 → bf16 rounds to nearest even; NaN stays NaN).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_convert(const void* src, tessera_cuda_dtype src_dtype, void* dst,
                                                          tessera_cuda_dtype dst_dtype, size_t n,
                                                          tessera_cuda_stream_t stream);
// out[i] = a[i] op b[i % b_n] (op: + − · ÷); b_n must divide n (b_n == n: same shape; b_n == cols: a row bias).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_binary(tessera_cuda_binary_op op, const void* a, size_t n,
                                                         const void* b, size_t b_n, void* out,
                                                         tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// out[i] = f(x[i]); GELU with the tanh approximation, SiLU = x·sigmoid(x).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_unary(tessera_cuda_unary_op op, const void* x, void* out, size_t n,
                                                        tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// out[i] = x[i] + alpha·y[i], with the product rounded to float32 before the sum (no fused multiply-add),
// as torch computes `x + alpha * y`: the Euler step `sample + dt·velocity`. x and out share x_dtype; y may
// differ (a bf16 velocity updating f32 latents).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_scaled_add(const void* x, tessera_cuda_dtype x_dtype, const void* y,
                                                             tessera_cuda_dtype y_dtype, float alpha, void* out,
                                                             size_t n, tessera_cuda_stream_t stream);
// Classifier-free guidance: out[i] = u[i] + scale·(c[i] − u[i]), each operation rounded to float32 (torch's
// order); u, c, out share dtype.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_guidance_combine(const void* uncond, const void* cond, float scale,
                                                                   void* out, size_t n, tessera_cuda_dtype dtype,
                                                                   tessera_cuda_stream_t stream);
// x·mul + add.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_affine(const void* x, void* out, size_t n, float mul, float add,
                                                         tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// x, out: [batch, tokens, dim]; scale, shift: [batch, dim]. out = x·(1 + scale) + shift.
// Vectors shared by every sample ([1, dim]): pass batch = 1 and tokens = batch·tokens.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_modulate(const void* x, const void* scale, const void* shift,
                                                           void* out, size_t batch, size_t tokens, size_t dim,
                                                           tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// residual, y, out: [batch, tokens, dim]; gate: [batch, dim]. out = residual + gate·y.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_gated_residual(const void* residual, const void* gate, const void* y,
                                                                 void* out, size_t batch, size_t tokens, size_t dim,
                                                                 tessera_cuda_dtype dtype,
                                                                 tessera_cuda_stream_t stream);

// ---------------------------------------------------------------------------------------------------
// Row kernels (x, out: [rows, cols]; one reduction per row in float32)
// ---------------------------------------------------------------------------------------------------

// out = (x − mean) / sqrt(var + eps) · weight + bias; weight/bias: [cols] or NULL (no affine).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_layer_norm(const void* x, const void* weight, const void* bias,
                                                             void* out, size_t rows, size_t cols, float eps,
                                                             tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// out = x / sqrt(mean(x²) + eps) · weight; weight: [cols] or NULL.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_rms_norm(const void* x, const void* weight, void* out, size_t rows,
                                                           size_t cols, float eps, tessera_cuda_dtype dtype,
                                                           tessera_cuda_stream_t stream);
// Fused AdaLN: out = LayerNorm(x) (no affine) · (1 + scale) + shift, with x, out: [batch, tokens, dim] as
// rows of `dim` and scale, shift: [batch, dim] (batch = 1 with tokens = all rows for shared vectors).
// One pass over x instead of a norm and a modulate.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_layer_norm_modulate(const void* x, const void* scale,
                                                                      const void* shift, void* out, size_t batch,
                                                                      size_t tokens, size_t dim, float eps,
                                                                      tessera_cuda_dtype dtype,
                                                                      tessera_cuda_stream_t stream);
// out = softmax(x) over each row.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_softmax(const void* x, void* out, size_t rows, size_t cols,
                                                          tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);

// ---------------------------------------------------------------------------------------------------
// Attention and positions (layout [batch, seq, heads, head_dim])
// ---------------------------------------------------------------------------------------------------

// Interleaved-pair RoPE: x, out: [batch, seq, heads, head_dim]; cos, sin: float32 [seq, head_dim]
// (already repeat-interleaved, c0,c0,c1,c1,…). out[2i] = x[2i]·cos[2i] − x[2i+1]·sin[2i];
// out[2i+1] = x[2i+1]·cos[2i+1] + x[2i]·sin[2i+1]. head_dim must be even.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_rope(const void* x, const float* cos, const float* sin, void* out,
                                                       size_t batch, size_t seq, size_t heads, size_t head_dim,
                                                       tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// Fused per-head RMSNorm, RoPE and placement (the query/key path of Flux and SD3.5): each [head_dim] row of
// x [batch, seq, heads, head_dim] becomes y = x / sqrt(mean(x²) + eps) · weight (weight: [head_dim] or
// NULL), rotated as tessera_cuda_rope does with row `out_offset + s` of cos/sin [out_seq, head_dim]
// (float32; both NULL: no rotation), and stored at token out_offset + s of out [batch, out_seq, heads,
// head_dim] — so text and image parts normalise with their own weights straight into the joint sequence.
// head_dim even and ≤ 256; out_offset + seq ≤ out_seq; out must not overlap x unless it is x itself.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_rms_norm_rope(const void* x, const void* weight, const float* cos,
                                                                const float* sin, void* out, size_t batch, size_t seq,
                                                                size_t heads, size_t head_dim, float eps,
                                                                size_t out_seq, size_t out_offset,
                                                                tessera_cuda_dtype dtype,
                                                                tessera_cuda_stream_t stream);
// get_timestep_embedding of diffusers for `batch` timesteps given by value (host memory, read during the
// call: nothing is copied to the device): out [batch, channels] = [sin(t·ω_j) | cos(t·ω_j)] (cos first
// with flip_sin_to_cos), ω_j = exp(−ln(max_period)·j / (channels/2 − downscale_freq_shift)), rounded to
// float32 at each step as torch does. channels even.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_timestep_sinusoid(const float* timesteps, size_t batch,
                                                                    size_t channels, int flip_sin_to_cos,
                                                                    float downscale_freq_shift, float max_period,
                                                                    void* out, tessera_cuda_dtype dtype,
                                                                    tessera_cuda_stream_t stream);
// Non-causal scaled dot-product attention, blocked over keys with an online softmax.
// q, out: [batch, q_len, heads, head_dim]; k, v: [batch, kv_len, heads, head_dim];
// lse: float32 [batch, heads, q_len] = log Σ_j exp(scale·q·k_j) (natural log), or NULL.
// head_dim ≤ 256 and a multiple of 32 is fastest; any head_dim in 1..256 is accepted.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_attention(const void* q, const void* k, const void* v, void* out,
                                                            float* lse, size_t batch, size_t q_len, size_t kv_len,
                                                            size_t heads, size_t head_dim, float scale,
                                                            tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);

// The same attention through cuDNN's fused flash attention (SDPA through the cuDNN frontend, libcudnn
// loaded with dlopen: TESSERA_CUDNN_LIB, else libcudnn.so.9): bf16 only, head_dim a multiple of 8 and
// ≤ 256. The lse it writes is cuDNN's softmax statistics, the same natural-log log-sum-exp. Execution
// plans are built once per shape and kept. Returns TESSERA_CUDA_UNSUPPORTED, with the reason, where cuDNN
// is missing or does not cover the call; tessera_cuda_attention then is the fallback.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_attention_cudnn(const void* q, const void* k, const void* v,
                                                                  void* out, float* lse, size_t batch, size_t q_len,
                                                                  size_t kv_len, size_t heads, size_t head_dim,
                                                                  float scale, tessera_cuda_dtype dtype,
                                                                  tessera_cuda_stream_t stream);
// Ring attention's merge of a block result into the running one over disjoint keys, in place:
// l' = log(e^l + e^lb), o' = e^(l−l')·o + e^(lb−l')·ob, around the larger exponent so nothing overflows.
// o: [batch, q_len, heads, head_dim] in acc_dtype (f32 keeps the sum exact enough); ob in block_dtype;
// l, lb: float32 [batch, heads, q_len].
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_lse_merge(void* o, float* lse, tessera_cuda_dtype acc_dtype,
                                                            const void* block_out, const float* block_lse,
                                                            tessera_cuda_dtype block_dtype, size_t batch,
                                                            size_t q_len, size_t heads, size_t head_dim,
                                                            tessera_cuda_stream_t stream);

// ---------------------------------------------------------------------------------------------------
// Copies
// ---------------------------------------------------------------------------------------------------

// dst = src permuted: dst's axis i is src's axis perm[i]; shape is src's shape (rank ≤ TESSERA_CUDA_MAX_RANK).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_permute(const void* src, void* dst, int rank, const int64_t* shape,
                                                          const int* perm, tessera_cuda_dtype dtype,
                                                          tessera_cuda_stream_t stream);
// Strided 2-D copy: rows × cols elements; strides in elements. Concat and split along any axis reduce
// to this (rows = product of the leading axes, cols = the axis size × the trailing axes).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_copy_2d(const void* src, size_t src_stride, void* dst,
                                                          size_t dst_stride, size_t rows, size_t cols,
                                                          tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);
// out: [outer, a_inner + b_inner] = concat(a: [outer, a_inner], b: [outer, b_inner]) along the last axis.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_concat(const void* a, size_t a_inner, const void* b, size_t b_inner,
                                                         void* out, size_t outer, tessera_cuda_dtype dtype,
                                                         tessera_cuda_stream_t stream);

// ---------------------------------------------------------------------------------------------------
// Image kernels (layout [N, C, H, W], as the VAE uses them)
// ---------------------------------------------------------------------------------------------------

// GroupNorm: channels split into `groups` equal groups; statistics over each (sample, group), i.e. over
// channels/groups · spatial values. x, out: [n, channels, spatial…] with `spatial` = H·W (or any product);
// weight, bias: [channels] or NULL.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_group_norm(const void* x, const void* weight, const void* bias,
                                                             void* out, size_t n, size_t channels, size_t spatial,
                                                             size_t groups, float eps, tessera_cuda_dtype dtype,
                                                             tessera_cuda_stream_t stream);
// Direct 2-D convolution (cross-correlation, as PyTorch): x [n, c_in, h, w], weight [c_out, c_in, kh, kw],
// bias [c_out] or NULL, out [n, c_out, (h + 2·pad_h − kh)/stride_h + 1, (w + 2·pad_w − kw)/stride_w + 1].
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_conv2d(const void* x, const void* weight, const void* bias, void* out,
                                                         size_t n, size_t c_in, size_t h, size_t w, size_t c_out,
                                                         size_t kh, size_t kw, size_t stride_h, size_t stride_w,
                                                         size_t pad_h, size_t pad_w, tessera_cuda_dtype dtype,
                                                         tessera_cuda_stream_t stream);
// Nearest-neighbour upsampling by integer factors: x [n, c, h, w] → out [n, c, h·factor_h, w·factor_w].
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_upsample_nearest(const void* x, void* out, size_t n, size_t c,
                                                                   size_t h, size_t w, size_t factor_h,
                                                                   size_t factor_w, tessera_cuda_dtype dtype,
                                                                   tessera_cuda_stream_t stream);

// ---------------------------------------------------------------------------------------------------
// GEMM (cuBLAS, loaded with dlopen on first use: TESSERA_CUBLAS_LIB, else libcublas.so.13, .so.12)
// ---------------------------------------------------------------------------------------------------

// Row-major C[m, n] = alpha · op(A) · op(B) + beta · C, op(A) = A [m, k] or, with trans_a, A [k, m]
// transposed (likewise B: [k, n] or [n, k]; a Linear layer y = x·Wᵀ is trans_b = 1). A, B and C share
// dtype; bf16 uses float32 accumulation (CUBLAS_COMPUTE_32F), f32 is plain SGEMM (no TF32).
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                                                       float alpha, const void* a, const void* b, float beta, void* c,
                                                       tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);

// Linear layer through cuBLASLt (libcublasLt loaded with dlopen: TESSERA_CUBLASLT_LIB, else
// libcublasLt.so.13, .so.12): out[m, n] = epilogue(x[m, k] · w[n, k]ᵀ + bias[n]), bias NULL for none.
// x, w, bias and out share dtype; bf16 accumulates in float32 and applies bias and GELU to the float32
// result before rounding; f32 is plain float32 (no TF32). Algorithms are chosen once per shape, pointer
// alignment and epilogue, and kept. Where cuBLASLt is missing or has no algorithm for the call, the same
// result comes from cuBLAS plus separate bias and GELU kernels.
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_linear(const void* x, const void* w, const void* bias, void* out,
                                                         size_t m, size_t n, size_t k, tessera_cuda_epilogue epilogue,
                                                         tessera_cuda_dtype dtype, tessera_cuda_stream_t stream);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // TESSERA_CUDA_H
