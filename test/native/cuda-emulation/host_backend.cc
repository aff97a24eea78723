// A host emulation of libtessera_cuda's C ABI (native/cuda/include/tessera_cuda.h), for tests on machines
// without a GPU: "device memory" is host memory and every kernel is a plain loop with the CPU's math. With
// TESSERA_CUDA_LIB pointing here (and the fake libcuda.so.1 of test/native/comm/fake-gpu on the loader's
// path), the addon's whole 'cuda' side runs for real — storage, dispatch, strided copies, dtype
// conversion, the transfer counter, gloo staging of device tensors — so a test can show that a step stays
// on the device and counts its copies. It says nothing about the CUDA kernels themselves: test/gpu checks
// those on a GPU against float64 references.
//
// Every call is also counted by name (tessera_emulation_calls) so a test can see which entry point ran
// (cuDNN vs the own attention kernel, cuBLASLt linear vs gemm). Attention launches are also appended to
// FAKE_NCCL_LOG when it is set ("cuda <pid> kernel attention"), beside the fake driver's event records and
// stream waits, so a test sees where a communicator's operations sit among the kernels. TESSERA_EMULATION_NO_CUDNN=1 makes the
// cuDNN entry point answer UNSUPPORTED, as on a machine without libcudnn.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include "tessera_cuda.h"

namespace {

thread_local std::string last_error;
std::mutex calls_mutex;
std::map<std::string, long> calls;
int current_device = 0;

void Count(const char* name) {
  std::lock_guard<std::mutex> lock(calls_mutex);
  ++calls[name];
}

void NoteLaunch(const char* kernel) {
  const char* path = std::getenv("FAKE_NCCL_LOG");
  if (path == nullptr) return;
  if (FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "cuda %d kernel %s\n", static_cast<int>(getpid()), kernel);
    std::fclose(f);
  }
}

tessera_cuda_status Fail(tessera_cuda_status status, const std::string& message) {
  last_error = message;
  return status;
}

float Bf16ToF32(uint16_t bits) {
  const uint32_t word = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &word, 4);
  return f;
}

uint16_t F32ToBf16(float f) {
  uint32_t word;
  std::memcpy(&word, &f, 4);
  if ((word & 0x7fffffffu) > 0x7f800000u) return uint16_t((word >> 16) | 0x40);  // NaN stays NaN
  word += 0x7fffu + ((word >> 16) & 1u);                                          // round to nearest even
  return uint16_t(word >> 16);
}

size_t Width(tessera_cuda_dtype t) { return t == TESSERA_CUDA_F32 ? 4 : 2; }

float Get(const void* p, tessera_cuda_dtype t, size_t i) {
  return t == TESSERA_CUDA_F32 ? static_cast<const float*>(p)[i] : Bf16ToF32(static_cast<const uint16_t*>(p)[i]);
}

void Put(void* p, tessera_cuda_dtype t, size_t i, float v) {
  if (t == TESSERA_CUDA_F32)
    static_cast<float*>(p)[i] = v;
  else
    static_cast<uint16_t*>(p)[i] = F32ToBf16(v);
}

bool Valid(tessera_cuda_dtype t) { return t == TESSERA_CUDA_F32 || t == TESSERA_CUDA_BF16; }

#define REQUIRE(cond, message)                                                          \
  do {                                                                                  \
    if (!(cond)) return Fail(TESSERA_CUDA_INVALID_ARGUMENT, std::string(__func__) + ": " + (message)); \
  } while (0)

// Products kept apart from the following add, as the real kernels' __fmul_rn/__fadd_rn.
float Product(float a, float b) {
  volatile float p = a * b;
  return p;
}

float GeluTanh(float x) { return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x))); }

}  // namespace

extern "C" {

TESSERA_CUDA_API long tessera_emulation_calls(const char* name) {
  std::lock_guard<std::mutex> lock(calls_mutex);
  auto it = calls.find(name);
  return it == calls.end() ? 0 : it->second;
}

TESSERA_CUDA_API int tessera_cuda_abi_version(void) { return TESSERA_CUDA_ABI_VERSION; }
TESSERA_CUDA_API const char* tessera_cuda_last_error(void) { return last_error.c_str(); }

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_versions(int* runtime_version, int* driver_version) {
  *runtime_version = 13000;
  *driver_version = 13000;
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_library_info(tessera_cuda_library library, char* path, size_t size,
                                                               int* version) {
  Count("library_info");
  const char* names[] = {"emulated-libcublas.so.13", "emulated-libcublasLt.so.13", "emulated-libcudnn.so.9"};
  const int versions[] = {130100, 130100, 91900};
  if (library < 0 || library > 2) return Fail(TESSERA_CUDA_INVALID_ARGUMENT, "unknown library");
  if (library == TESSERA_CUDA_LIB_CUDNN && std::getenv("TESSERA_EMULATION_NO_CUDNN"))
    return Fail(TESSERA_CUDA_LIBRARY_MISSING, "cuDNN not found (emulation without cuDNN)");
  std::snprintf(path, size, "%s", names[library]);
  *version = versions[library];
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_device_count(int* count) {
  const char* n = std::getenv("TESSERA_EMULATION_DEVICES");
  *count = n ? std::atoi(n) : 1;
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_device_info_get(int device, tessera_cuda_device_info* info) {
  std::memset(info, 0, sizeof(*info));
  std::snprintf(info->name, sizeof(info->name), "Emulated GPU %d", device);
  info->total_memory = size_t(1) << 34;
  info->compute_major = 9;
  info->compute_minor = 0;
  info->multiprocessors = 1;
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_set_device(int device) {
  current_device = device;
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_get_device(int* device) {
  *device = current_device;
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_malloc(void** ptr, size_t bytes) {
  *ptr = bytes ? std::malloc(bytes) : nullptr;
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_free(void* ptr) {
  std::free(ptr);
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_malloc_async(void** ptr, size_t bytes, tessera_cuda_stream_t) {
  Count("malloc_async");
  return tessera_cuda_malloc(ptr, bytes);
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_free_async(void* ptr, tessera_cuda_stream_t) {
  return tessera_cuda_free(ptr);
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t) {
  Count("memcpy_h2d");
  if (bytes) std::memcpy(dst, src, bytes);
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t) {
  Count("memcpy_d2h");
  if (bytes) std::memcpy(dst, src, bytes);
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_memset_zero(void* dst, size_t bytes, tessera_cuda_stream_t) {
  if (bytes) std::memset(dst, 0, bytes);
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_stream_create(tessera_cuda_stream_t* stream) {
  *stream = reinterpret_cast<tessera_cuda_stream_t>(std::malloc(1));
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_stream_destroy(tessera_cuda_stream_t stream) {
  std::free(stream);
  return 0;
}
TESSERA_CUDA_API tessera_cuda_status tessera_cuda_stream_synchronize(tessera_cuda_stream_t) { return 0; }

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_convert(const void* src, tessera_cuda_dtype st, void* dst,
                                                          tessera_cuda_dtype dt, size_t n, tessera_cuda_stream_t) {
  REQUIRE(Valid(st) && Valid(dt), "unknown dtype");
  for (size_t i = 0; i < n; ++i) Put(dst, dt, i, Get(src, st, i));
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_binary(tessera_cuda_binary_op op, const void* a, size_t n, const void* b,
                                                         size_t b_n, void* out, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  REQUIRE(b_n > 0 && n % b_n == 0, "b_n must divide n");
  for (size_t i = 0; i < n; ++i) {
    const float x = Get(a, t, i), y = Get(b, t, i % b_n);
    Put(out, t, i, op == TESSERA_CUDA_ADD ? x + y : op == TESSERA_CUDA_SUB ? x - y : op == TESSERA_CUDA_MUL ? x * y : x / y);
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_unary(tessera_cuda_unary_op op, const void* x, void* out, size_t n,
                                                        tessera_cuda_dtype t, tessera_cuda_stream_t) {
  for (size_t i = 0; i < n; ++i) {
    const float v = Get(x, t, i);
    Put(out, t, i, op == TESSERA_CUDA_GELU_TANH ? GeluTanh(v) : v / (1.0f + std::exp(-v)));
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_scaled_add(const void* x, tessera_cuda_dtype xt, const void* y,
                                                             tessera_cuda_dtype yt, float alpha, void* out, size_t n,
                                                             tessera_cuda_stream_t) {
  Count("scaled_add");
  REQUIRE(Valid(xt) && Valid(yt), "unknown dtype");
  for (size_t i = 0; i < n; ++i) Put(out, xt, i, Get(x, xt, i) + Product(alpha, Get(y, yt, i)));
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_guidance_combine(const void* u, const void* c, float scale, void* out,
                                                                   size_t n, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  Count("guidance_combine");
  for (size_t i = 0; i < n; ++i) {
    const float uv = Get(u, t, i);
    Put(out, t, i, uv + Product(scale, Get(c, t, i) - uv));
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_affine(const void* x, void* out, size_t n, float mul, float add,
                                                         tessera_cuda_dtype t, tessera_cuda_stream_t) {
  for (size_t i = 0; i < n; ++i) Put(out, t, i, Get(x, t, i) * mul + add);
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_modulate(const void* x, const void* scale, const void* shift, void* out,
                                                           size_t batch, size_t tokens, size_t dim, tessera_cuda_dtype t,
                                                           tessera_cuda_stream_t) {
  for (size_t i = 0, n = batch * tokens * dim; i < n; ++i) {
    const size_t v = (i / (dim * tokens)) * dim + i % dim;
    Put(out, t, i, Get(x, t, i) * (1.0f + Get(scale, t, v)) + Get(shift, t, v));
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_gated_residual(const void* r, const void* gate, const void* y, void* out,
                                                                 size_t batch, size_t tokens, size_t dim, tessera_cuda_dtype t,
                                                                 tessera_cuda_stream_t) {
  for (size_t i = 0, n = batch * tokens * dim; i < n; ++i) {
    const size_t v = (i / (dim * tokens)) * dim + i % dim;
    Put(out, t, i, Get(r, t, i) + Get(gate, t, v) * Get(y, t, i));
  }
  return 0;
}

namespace {
// Mean and 1/σ of one row (two passes, float32 as the kernels).
void RowStats(const void* x, tessera_cuda_dtype t, size_t base, size_t cols, float eps, float* mean, float* inv) {
  float sum = 0;
  for (size_t c = 0; c < cols; ++c) sum += Get(x, t, base + c);
  *mean = sum / float(cols);
  float sq = 0;
  for (size_t c = 0; c < cols; ++c) {
    const float d = Get(x, t, base + c) - *mean;
    sq += d * d;
  }
  *inv = 1.0f / std::sqrt(sq / float(cols) + eps);
}
}  // namespace

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_layer_norm(const void* x, const void* w, const void* b, void* out,
                                                             size_t rows, size_t cols, float eps, tessera_cuda_dtype t,
                                                             tessera_cuda_stream_t) {
  for (size_t r = 0; r < rows; ++r) {
    float mean, inv;
    RowStats(x, t, r * cols, cols, eps, &mean, &inv);
    for (size_t c = 0; c < cols; ++c) {
      float v = (Get(x, t, r * cols + c) - mean) * inv;
      if (w) v *= Get(w, t, c);
      if (b) v += Get(b, t, c);
      Put(out, t, r * cols + c, v);
    }
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_layer_norm_modulate(const void* x, const void* scale, const void* shift,
                                                                      void* out, size_t batch, size_t tokens, size_t dim,
                                                                      float eps, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  Count("layer_norm_modulate");
  for (size_t r = 0; r < batch * tokens; ++r) {
    float mean, inv;
    RowStats(x, t, r * dim, dim, eps, &mean, &inv);
    const size_t v = (r / tokens) * dim;
    for (size_t c = 0; c < dim; ++c) {
      const float normed = (Get(x, t, r * dim + c) - mean) * inv;
      Put(out, t, r * dim + c, normed * (1.0f + Get(scale, t, v + c)) + Get(shift, t, v + c));
    }
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_rms_norm(const void* x, const void* w, void* out, size_t rows, size_t cols,
                                                           float eps, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  for (size_t r = 0; r < rows; ++r) {
    float sq = 0;
    for (size_t c = 0; c < cols; ++c) sq += Get(x, t, r * cols + c) * Get(x, t, r * cols + c);
    const float inv = 1.0f / std::sqrt(sq / float(cols) + eps);
    for (size_t c = 0; c < cols; ++c) Put(out, t, r * cols + c, Get(x, t, r * cols + c) * inv * (w ? Get(w, t, c) : 1.0f));
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_softmax(const void* x, void* out, size_t rows, size_t cols,
                                                          tessera_cuda_dtype t, tessera_cuda_stream_t) {
  std::vector<float> row(cols);
  for (size_t r = 0; r < rows; ++r) {
    float m = -INFINITY, sum = 0;
    for (size_t c = 0; c < cols; ++c) m = std::fmax(m, row[c] = Get(x, t, r * cols + c));
    for (size_t c = 0; c < cols; ++c) sum += row[c] = std::exp(row[c] - m);
    for (size_t c = 0; c < cols; ++c) Put(out, t, r * cols + c, row[c] / sum);
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_rope(const void* x, const float* cos, const float* sin, void* out,
                                                       size_t batch, size_t seq, size_t heads, size_t d, tessera_cuda_dtype t,
                                                       tessera_cuda_stream_t) {
  REQUIRE(d % 2 == 0, "head_dim is odd");
  for (size_t e = 0, n = batch * seq * heads * d; e < n; e += 2) {
    const size_t tt = ((e / (d * heads)) % seq) * d + e % d;
    const float x0 = Get(x, t, e), x1 = Get(x, t, e + 1);
    Put(out, t, e, x0 * cos[tt] - x1 * sin[tt]);
    Put(out, t, e + 1, x1 * cos[tt + 1] + x0 * sin[tt + 1]);
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_rms_norm_rope(const void* x, const void* w, const float* cos,
                                                                const float* sin, void* out, size_t batch, size_t seq,
                                                                size_t heads, size_t d, float eps, size_t out_seq,
                                                                size_t out_offset, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  Count("rms_norm_rope");
  REQUIRE(d % 2 == 0 && d <= 256, "head_dim must be even and ≤ 256");
  REQUIRE(out_offset + seq <= out_seq, "tokens do not fit");
  std::vector<float> y(d);
  for (size_t b = 0; b < batch; ++b)
    for (size_t s = 0; s < seq; ++s)
      for (size_t h = 0; h < heads; ++h) {
        const size_t in = ((b * seq + s) * heads + h) * d, tok = out_offset + s;
        const size_t o = ((b * out_seq + tok) * heads + h) * d;
        float sq = 0;
        for (size_t k = 0; k < d; ++k) sq += Get(x, t, in + k) * Get(x, t, in + k);
        const float inv = 1.0f / std::sqrt(sq / float(d) + eps);
        for (size_t k = 0; k < d; ++k) y[k] = Get(x, t, in + k) * inv * (w ? Get(w, t, k) : 1.0f);
        for (size_t k = 0; k < d; k += 2) {
          float y0 = y[k], y1 = y[k + 1];
          if (cos) {
            const size_t e = tok * d + k;
            const float r0 = y0 * cos[e] - y1 * sin[e], r1 = y1 * cos[e + 1] + y0 * sin[e + 1];
            y0 = r0;
            y1 = r1;
          }
          Put(out, t, o + k, y0);
          Put(out, t, o + k + 1, y1);
        }
      }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_timestep_sinusoid(const float* ts, size_t batch, size_t channels, int flip,
                                                                    float shift, float max_period, void* out,
                                                                    tessera_cuda_dtype t, tessera_cuda_stream_t) {
  Count("timestep_sinusoid");
  const size_t half = channels / 2;
  const float neg_log = float(-std::log(double(max_period)));
  for (size_t j = 0; j < half; ++j) {
    const float omega = float(std::exp(double(Product(neg_log, float(j)) / (float(half) - shift))));
    for (size_t b = 0; b < batch; ++b) {
      const float arg = Product(ts[b], omega);
      Put(out, t, b * channels + (flip ? j : half + j), float(std::cos(double(arg))));
      Put(out, t, b * channels + (flip ? half + j : j), float(std::sin(double(arg))));
    }
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_attention(const void* q, const void* k, const void* v, void* out, float* lse,
                                                            size_t batch, size_t sq, size_t skv, size_t heads, size_t d,
                                                            float scale, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  Count("attention");
  NoteLaunch("attention");
  REQUIRE(skv > 0, "no keys");
  // The real kernel keeps a row of q in registers sized for 256 (attention.cu kMaxHeadDim); refusing what it
  // refuses keeps the emulation from passing a shape a GPU would reject.
  REQUIRE(d > 0 && d <= 256, "head_dim " + std::to_string(d) + " is outside 1..256");
  const size_t row = heads * d;
  std::vector<float> s(skv);
  for (size_t b = 0; b < batch; ++b)
    for (size_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < sq; ++i) {
        float m = -INFINITY;
        for (size_t j = 0; j < skv; ++j) {
          float dot = 0;
          for (size_t e = 0; e < d; ++e) dot += Get(q, t, (b * sq + i) * row + h * d + e) * Get(k, t, (b * skv + j) * row + h * d + e);
          m = std::fmax(m, s[j] = dot * scale);
        }
        float sum = 0;
        for (size_t j = 0; j < skv; ++j) sum += s[j] = std::exp(s[j] - m);
        for (size_t e = 0; e < d; ++e) {
          float acc = 0;
          for (size_t j = 0; j < skv; ++j) acc += s[j] * Get(v, t, (b * skv + j) * row + h * d + e);
          Put(out, t, (b * sq + i) * row + h * d + e, acc / sum);
        }
        if (lse) lse[(b * heads + h) * sq + i] = m + std::log(sum);
      }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_attention_cudnn(const void* q, const void* k, const void* v, void* out,
                                                                  float* lse, size_t batch, size_t sq, size_t skv,
                                                                  size_t heads, size_t d, float scale, tessera_cuda_dtype t,
                                                                  tessera_cuda_stream_t stream) {
  if (std::getenv("TESSERA_EMULATION_NO_CUDNN"))
    return Fail(TESSERA_CUDA_UNSUPPORTED, "tessera_cuda_attention_cudnn: cuDNN not found (emulation without cuDNN)");
  if (t != TESSERA_CUDA_BF16) return Fail(TESSERA_CUDA_UNSUPPORTED, "tessera_cuda_attention_cudnn: cuDNN flash attention runs bf16 only");
  Count("attention_cudnn");
  return tessera_cuda_attention(q, k, v, out, lse, batch, sq, skv, heads, d, scale, t, stream);
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_lse_merge(void* o, float* lse, tessera_cuda_dtype at, const void* ob,
                                                            const float* lb, tessera_cuda_dtype bt, size_t batch, size_t sq,
                                                            size_t heads, size_t d, tessera_cuda_stream_t) {
  Count("lse_merge");
  for (size_t r = 0; r < batch * sq * heads; ++r) {
    const size_t h = r % heads, i = (r / heads) % sq, b = r / (heads * sq);
    const size_t li = (b * heads + h) * sq + i;
    const float m = std::fmax(lse[li], lb[li]);
    if (m == -INFINITY) continue;
    const float wa = std::exp(lse[li] - m), wc = std::exp(lb[li] - m), sum = wa + wc;
    for (size_t e = 0; e < d; ++e) Put(o, at, r * d + e, wa / sum * Get(o, at, r * d + e) + wc / sum * Get(ob, bt, r * d + e));
    lse[li] = m + std::log(sum);
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_permute(const void* src, void* dst, int rank, const int64_t* shape,
                                                          const int* perm, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  REQUIRE(rank >= 1 && rank <= TESSERA_CUDA_MAX_RANK, "rank out of range");
  size_t stride[TESSERA_CUDA_MAX_RANK], n = 1;
  for (int a = rank - 1; a >= 0; --a) {
    stride[a] = n;
    n *= size_t(shape[a]);
  }
  const size_t w = Width(t);
  for (size_t i = 0; i < n; ++i) {
    size_t rest = i, offset = 0;
    for (int a = rank - 1; a >= 0; --a) {
      const size_t extent = size_t(shape[perm[a]]);
      offset += (rest % extent) * stride[perm[a]];
      rest /= extent;
    }
    std::memcpy(static_cast<char*>(dst) + i * w, static_cast<const char*>(src) + offset * w, w);
  }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_copy_2d(const void* src, size_t ss, void* dst, size_t ds, size_t rows,
                                                          size_t cols, tessera_cuda_dtype t, tessera_cuda_stream_t) {
  const size_t w = Width(t);
  for (size_t r = 0; r < rows; ++r)
    std::memmove(static_cast<char*>(dst) + r * ds * w, static_cast<const char*>(src) + r * ss * w, cols * w);
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_concat(const void* a, size_t ai, const void* b, size_t bi, void* out,
                                                         size_t outer, tessera_cuda_dtype t, tessera_cuda_stream_t s) {
  tessera_cuda_copy_2d(a, ai, out, ai + bi, outer, ai, t, s);
  return tessera_cuda_copy_2d(b, bi, static_cast<char*>(out) + ai * Width(t), ai + bi, outer, bi, t, s);
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_group_norm(const void* x, const void* w, const void* b, void* out, size_t n,
                                                             size_t channels, size_t spatial, size_t groups, float eps,
                                                             tessera_cuda_dtype t, tessera_cuda_stream_t) {
  const size_t per = channels / groups * spatial;
  for (size_t s = 0; s < n; ++s)
    for (size_t g = 0; g < groups; ++g) {
      const size_t base = (s * groups + g) * per;
      float mean, inv;
      RowStats(x, t, base, per, eps, &mean, &inv);
      for (size_t i = 0; i < per; ++i) {
        const size_t c = g * (channels / groups) + i / spatial;
        float v = (Get(x, t, base + i) - mean) * inv;
        if (w) v *= Get(w, t, c);
        if (b) v += Get(b, t, c);
        Put(out, t, base + i, v);
      }
    }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_conv2d(const void* x, const void* w, const void* bias, void* out, size_t n,
                                                         size_t ci, size_t h, size_t wd, size_t co, size_t kh, size_t kw,
                                                         size_t sh, size_t sw, size_t ph, size_t pw, tessera_cuda_dtype t,
                                                         tessera_cuda_stream_t) {
  const size_t ho = (h + 2 * ph - kh) / sh + 1, wo = (wd + 2 * pw - kw) / sw + 1;
  for (size_t b = 0; b < n; ++b)
    for (size_t o = 0; o < co; ++o)
      for (size_t y = 0; y < ho; ++y)
        for (size_t xx = 0; xx < wo; ++xx) {
          float acc = bias ? Get(bias, t, o) : 0.0f;
          for (size_t c = 0; c < ci; ++c)
            for (size_t i = 0; i < kh; ++i)
              for (size_t j = 0; j < kw; ++j) {
                const long iy = long(y * sh + i) - long(ph), ix = long(xx * sw + j) - long(pw);
                if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
                acc += Get(x, t, ((b * ci + c) * h + size_t(iy)) * wd + size_t(ix)) * Get(w, t, ((o * ci + c) * kh + i) * kw + j);
              }
          Put(out, t, ((b * co + o) * ho + y) * wo + xx, acc);
        }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_upsample_nearest(const void* x, void* out, size_t n, size_t c, size_t h,
                                                                   size_t w, size_t fh, size_t fw, tessera_cuda_dtype t,
                                                                   tessera_cuda_stream_t) {
  for (size_t p = 0; p < n * c; ++p)
    for (size_t y = 0; y < h * fh; ++y)
      for (size_t xx = 0; xx < w * fw; ++xx)
        Put(out, t, (p * h * fh + y) * w * fw + xx, Get(x, t, (p * h + y / fh) * w + xx / fw));
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const void* a,
                                                       const void* b, float beta, void* c, tessera_cuda_dtype t,
                                                       tessera_cuda_stream_t) {
  Count("gemm");
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      float acc = 0;
      for (size_t p = 0; p < k; ++p) acc += Get(a, t, ta ? p * m + i : i * k + p) * Get(b, t, tb ? j * k + p : p * n + j);
      Put(c, t, i * n + j, alpha * acc + (beta != 0.0f ? beta * Get(c, t, i * n + j) : 0.0f));
    }
  return 0;
}

TESSERA_CUDA_API tessera_cuda_status tessera_cuda_linear(const void* x, const void* w, const void* bias, void* out, size_t m,
                                                         size_t n, size_t k, tessera_cuda_epilogue epilogue, tessera_cuda_dtype t,
                                                         tessera_cuda_stream_t) {
  Count("linear");
  REQUIRE(k > 0, "k = 0");
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      float acc = 0;
      for (size_t p = 0; p < k; ++p) acc += Get(x, t, i * k + p) * Get(w, t, j * k + p);
      if (bias) acc += Get(bias, t, j);
      Put(out, t, i * n + j, epilogue == TESSERA_CUDA_EPILOGUE_GELU_TANH ? GeluTanh(acc) : acc);
    }
  return 0;
}

}  // extern "C"
