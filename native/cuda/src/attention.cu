// Scaled dot-product attention over [batch, seq, heads, head_dim] without materialising the score
// matrix: keys and values stream through shared memory in tiles, and each query keeps a running max,
// a running sum and an output accumulator (the online softmax), rescaled when a tile raises the max.
// The log-sum-exp per query comes out as a by-product; ring attention merges partial results with it.
//
// Work split: one warp per query row, four rows per block (they share each K/V tile); a lane holds the
// head dimensions lane, lane+32, … of the query and the accumulator, and lane j holds key j's score.
#include <string>

#include "common.cuh"

namespace tessera_cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 256;
constexpr int kPerLane = kMaxHeadDim / 32;

template <typename T>
__global__ void AttentionKernel(const T* q, const T* k, const T* v, T* out, float* lse, size_t q_len, size_t kv_len,
                                size_t heads, int head_dim, int tile, float scale) {
  extern __shared__ float kv_tile[];  // [tile][head_dim] keys, then [tile][head_dim] values
  float* k_tile = kv_tile;
  float* v_tile = kv_tile + size_t(tile) * head_dim;

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const size_t b = blockIdx.z, h = blockIdx.y;
  const size_t query = size_t(blockIdx.x) * kWarps + warp;
  const bool active = query < q_len;
  const size_t row_stride = heads * head_dim;  // elements between consecutive tokens

  float q_reg[kPerLane], acc[kPerLane];
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + 32 * i;
    q_reg[i] = active && d < head_dim ? Load(q, (b * q_len + query) * row_stride + h * head_dim + d) * scale : 0.0f;
    acc[i] = 0.0f;
  }
  float running_max = -INFINITY, running_sum = 0.0f;

  for (size_t start = 0; start < kv_len; start += tile) {
    const int count = int(kv_len - start < size_t(tile) ? kv_len - start : size_t(tile));
    __syncthreads();  // the previous tile is no longer read
    for (int idx = threadIdx.x; idx < count * head_dim; idx += blockDim.x) {
      const int j = idx / head_dim, d = idx % head_dim;
      const size_t src = (b * kv_len + start + j) * row_stride + h * head_dim + d;
      k_tile[idx] = Load(k, src);
      v_tile[idx] = Load(v, src);
    }
    __syncthreads();
    if (!active) continue;

    float my_score = -INFINITY;  // lane j keeps the score of key start + j
    for (int j = 0; j < count; ++j) {
      float partial = 0.0f;
      for (int i = 0; i < kPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < head_dim) partial += q_reg[i] * k_tile[j * head_dim + d];
      }
      const float s = WarpSum(partial);
      if (lane == j) my_score = s;
    }
    const float tile_max = WarpMax(my_score);
    const float new_max = fmaxf(running_max, tile_max);
    const float correction = expf(running_max - new_max);  // 0 on the first tile (running_max = −inf)
    const float my_p = lane < count ? expf(my_score - new_max) : 0.0f;
    running_sum = running_sum * correction + WarpSum(my_p);
    for (int i = 0; i < kPerLane; ++i) acc[i] *= correction;
    for (int j = 0; j < count; ++j) {
      const float p = __shfl_sync(0xffffffffu, my_p, j);
      for (int i = 0; i < kPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < head_dim) acc[i] += p * v_tile[j * head_dim + d];
      }
    }
    running_max = new_max;
  }

  if (!active) return;
  const float inv = 1.0f / running_sum;
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + 32 * i;
    if (d < head_dim) Store(out, (b * q_len + query) * row_stride + h * head_dim + d, acc[i] * inv);
  }
  if (lse && lane == 0) lse[(b * heads + h) * q_len + query] = running_max + logf(running_sum);
}

template <typename T>
__global__ void RopeKernel(const T* x, const float* cos, const float* sin, T* out, size_t seq, size_t heads,
                           size_t head_dim, size_t pairs) {
  for (size_t p = blockIdx.x * size_t(blockDim.x) + threadIdx.x; p < pairs; p += size_t(gridDim.x) * blockDim.x) {
    const size_t e = 2 * p;  // the even element of the pair
    const size_t d = e % head_dim, s = (e / (head_dim * heads)) % seq;
    const size_t t = s * head_dim + d;
    const float x0 = Load(x, e), x1 = Load(x, e + 1);
    Store(out, e, x0 * cos[t] - x1 * sin[t]);
    Store(out, e + 1, x1 * cos[t + 1] + x0 * sin[t + 1]);
  }
}

// One warp per [head_dim] row; lane l holds the pairs (2p, 2p+1) with p = l, l + 32, …, so the RMS is
// one warp reduction and each rotation stays inside a lane. All reads of a row happen before the
// reduction and every write after it, so out may be x itself.
template <typename T>
__global__ void RmsNormRopeKernel(const T* x, const T* weight, const float* cos, const float* sin, T* out,
                                  size_t rows, size_t seq, size_t heads, int head_dim, float eps, size_t out_seq,
                                  size_t out_offset) {
  constexpr int kMaxPairsPerLane = kMaxHeadDim / 64;
  const int lane = threadIdx.x & 31;
  const int pairs = head_dim / 2;
  const size_t stride = size_t(gridDim.x) * (blockDim.x >> 5);
  for (size_t r = size_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += stride) {
    const size_t h = r % heads, s = (r / heads) % seq, b = r / (heads * seq);
    const size_t t = out_offset + s;  // token in the output sequence, and row of the tables
    const T* in_row = x + r * size_t(head_dim);
    T* out_row = out + ((b * out_seq + t) * heads + h) * size_t(head_dim);
    float v0[kMaxPairsPerLane], v1[kMaxPairsPerLane];
    float sq = 0.0f;
    for (int i = 0; i < kMaxPairsPerLane; ++i) {
      const int p = lane + 32 * i;
      v0[i] = p < pairs ? Load(in_row, 2 * p) : 0.0f;
      v1[i] = p < pairs ? Load(in_row, 2 * p + 1) : 0.0f;
      sq += v0[i] * v0[i] + v1[i] * v1[i];
    }
    const float inv = rsqrtf(WarpSum(sq) / float(head_dim) + eps);
    for (int i = 0; i < kMaxPairsPerLane; ++i) {
      const int p = lane + 32 * i;
      if (p >= pairs) continue;
      float y0 = v0[i] * inv, y1 = v1[i] * inv;
      if (weight) {
        y0 *= Load(weight, 2 * p);
        y1 *= Load(weight, 2 * p + 1);
      }
      if (cos) {
        const size_t e = t * size_t(head_dim) + 2 * p;
        const float r0 = y0 * cos[e] - y1 * sin[e];
        const float r1 = y1 * cos[e + 1] + y0 * sin[e + 1];
        y0 = r0;
        y1 = r1;
      }
      Store(out_row, 2 * p, y0);
      Store(out_row, 2 * p + 1, y1);
    }
  }
}

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

tessera_cuda_status tessera_cuda_attention(const void* q, const void* k, const void* v, void* out, float* lse,
                                           size_t batch, size_t q_len, size_t kv_len, size_t heads, size_t head_dim,
                                           float scale, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_attention";
  if (batch == 0 || q_len == 0 || heads == 0) return kOk;
  TESSERA_REQUIRE(q && k && v && out, what, "null pointer");
  TESSERA_REQUIRE(kv_len > 0, what, "no keys (kv_len = 0): the softmax is undefined");
  TESSERA_REQUIRE(head_dim > 0 && head_dim <= size_t(kMaxHeadDim), what,
                  "head_dim " + std::to_string(head_dim) + " is outside 1.." + std::to_string(kMaxHeadDim));
  TESSERA_REQUIRE(heads <= 65535 && batch <= 65535, what, "more than 65535 heads or batch items");
  const size_t blocks_x = (q_len + kWarps - 1) / kWarps;
  TESSERA_REQUIRE(blocks_x <= 0x7fffffffu, what, "q_len too large");
  // Tiles of 32 keys fill a warp's score lanes; wide heads use 16 to stay within 32 KiB of shared memory.
  const int tile = head_dim <= 128 ? 32 : 16;
  const size_t shared = size_t(2) * tile * head_dim * sizeof(float);
  const dim3 grid(static_cast<unsigned>(blocks_x), static_cast<unsigned>(heads), static_cast<unsigned>(batch));
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    AttentionKernel<T><<<grid, kWarps * 32, shared, Native(stream)>>>(
        static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(out), lse, q_len,
        kv_len, heads, int(head_dim), tile, scale);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_rope(const void* x, const float* cos, const float* sin, void* out, size_t batch,
                                      size_t seq, size_t heads, size_t head_dim, tessera_cuda_dtype dtype,
                                      tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_rope";
  const size_t n = batch * seq * heads * head_dim;
  if (n == 0) return kOk;
  TESSERA_REQUIRE(x && cos && sin && out, what, "null pointer");
  TESSERA_REQUIRE(head_dim % 2 == 0, what, "head_dim " + std::to_string(head_dim) + " is odd; RoPE rotates pairs");
  constexpr unsigned kBlock = 256;
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    RopeKernel<T><<<GridFor(n / 2, kBlock), kBlock, 0, Native(stream)>>>(
        static_cast<const T*>(x), cos, sin, static_cast<T*>(out), seq, heads, head_dim, n / 2);
    return CheckLaunch(what);
  });
}

tessera_cuda_status tessera_cuda_rms_norm_rope(const void* x, const void* weight, const float* cos, const float* sin,
                                               void* out, size_t batch, size_t seq, size_t heads, size_t head_dim,
                                               float eps, size_t out_seq, size_t out_offset, tessera_cuda_dtype dtype,
                                               tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_rms_norm_rope";
  const size_t rows = batch * seq * heads;
  if (rows == 0) return kOk;
  TESSERA_REQUIRE(x && out, what, "null pointer");
  TESSERA_REQUIRE((cos == nullptr) == (sin == nullptr), what, "cos and sin must be given together");
  TESSERA_REQUIRE(head_dim >= 2 && head_dim % 2 == 0 && head_dim <= size_t(kMaxHeadDim), what,
                  "head_dim " + std::to_string(head_dim) + " must be even and in 2.." + std::to_string(kMaxHeadDim));
  TESSERA_REQUIRE(out_offset <= out_seq && seq <= out_seq - out_offset, what,
                  "tokens [" + std::to_string(out_offset) + ", " + std::to_string(out_offset + seq) +
                      ") do not fit an output sequence of " + std::to_string(out_seq));
  TESSERA_REQUIRE(eps >= 0.0f, what, "eps must not be negative");
  constexpr unsigned kWarpsPerBlock = 8;
  size_t blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks > 65535u * 8u) blocks = 65535u * 8u;
  return DispatchDtype(dtype, what, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    RmsNormRopeKernel<T><<<unsigned(blocks), kWarpsPerBlock * 32, 0, Native(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(weight), cos, sin, static_cast<T*>(out), rows, seq, heads,
        int(head_dim), eps, out_seq, out_offset);
    return CheckLaunch(what);
  });
}

}  // extern "C"
