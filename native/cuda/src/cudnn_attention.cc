// Attention through cuDNN's fused flash attention: the SDPA node of the cuDNN frontend (header-only, from
// the nvidia-cudnn-frontend wheel), with libcudnn opened by us (libraries.h) and handed to the frontend,
// which then reaches every cuDNN function through dlsym (NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING). Nothing
// links against cuDNN, so the library loads on machines without it and this path reports UNSUPPORTED.
//
// Our layout [B, S, H, D] is cuDNN's logical [B, H, S, D] with strides (S·H·D, D, H·D, 1), so q, k, v and
// out are used in place. The softmax statistics cuDNN writes with generate_stats are max + ln(Σ exp), the
// natural-log log-sum-exp per (b, h, query) — packed [B, H, S, 1], i.e. our lse [B, H, Sq].
//
// Building a graph (validation, heuristics, plan compilation) takes milliseconds, so each shape's graph is
// built once and kept; one that cannot be built is remembered as unsupported with cuDNN's reason.
// The frontend's headers define helpers that this file does not call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <cudnn_frontend.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "status.h"
#include "libraries.h"

namespace cudnn_frontend {
// The handle the frontend's shim calls dlsym on; set from Library(TESSERA_CUDA_LIB_CUDNN) before any use.
void* cudnn_dlhandle = nullptr;
}  // namespace cudnn_frontend

namespace tessera_cuda {
namespace {

namespace fe = cudnn_frontend;

enum Uid : int64_t { kQ = 1, kK, kV, kO, kStats };

struct GraphKey {
  int device;
  int64_t b, sq, skv, h, d;
  bool stats;
  uint32_t scale_bits;
  bool operator<(const GraphKey& o) const {
    return std::tie(device, b, sq, skv, h, d, stats, scale_bits) <
           std::tie(o.device, o.b, o.sq, o.skv, o.h, o.d, o.stats, o.scale_bits);
  }
};

struct BuiltGraph {
  std::shared_ptr<fe::graph::Graph> graph;  // null: unsupported, see why
  int64_t workspace = 0;
  std::string why;
};

struct CudnnState {
  std::mutex mutex;
  bool loaded = false;
  std::string load_error;  // why cuDNN cannot be used at all
  std::map<int, cudnnHandle_t> handles;
  std::map<GraphKey, BuiltGraph> graphs;
};

CudnnState& State() {
  static CudnnState* state = new CudnnState();  // never destroyed: cuDNN state outlives static teardown
  return *state;
}

std::string CudnnStatusText(cudnnStatus_t status) {
  std::string text = std::string(fe::detail::get_error_string(status));
  const std::string last = fe::detail::get_last_error_string_();
  if (!last.empty()) text += ": " + last;
  return text;
}

// Opens libcudnn once and checks it is cuDNN 9 (the frontend's calls assume the 9.x ABI).
bool EnsureLoaded(CudnnState& st) {
  if (st.loaded || !st.load_error.empty()) return st.loaded;
  const LoadedLibrary& lib = Library(TESSERA_CUDA_LIB_CUDNN);
  if (!lib.handle) {
    st.load_error = lib.error;
    return false;
  }
  fe::cudnn_dlhandle = lib.handle;
  // The frontend opens the CUDA runtime itself (device queries while building a graph) and tries
  // libcudart.so.12 before .so.13, keeping the first it finds. This file is compiled against CUDA 13's
  // headers (cudaDeviceProp's layout, the graph calls), so a CUDA 12 runtime found first would be called
  // with CUDA 13 structures; name the CUDA 13 one unless the user chose (CUDNN_FRONTEND_CUDART_LIB_NAME).
  // Where it is missing, the graph build fails with the frontend's message and the own kernel runs.
  const std::string cudart = "libcudart.so." + std::to_string(CUDART_VERSION / 1000);
  setenv("CUDNN_FRONTEND_CUDART_LIB_NAME", cudart.c_str(), /*overwrite=*/0);
  const size_t version = fe::detail::get_backend_version();
  if (version < 90000 || version >= 100000) {
    st.load_error = lib.path + " is cuDNN " + std::to_string(version) + "; the attention path needs cuDNN 9";
    return false;
  }
  st.loaded = true;
  return true;
}

tessera_cuda_status HandleFor(CudnnState& st, int device, cudnnHandle_t* handle, std::string* why) {
  auto it = st.handles.find(device);
  if (it != st.handles.end()) {
    *handle = it->second;
    return kOk;
  }
  cudnnHandle_t created = nullptr;
  const cudnnStatus_t status = fe::detail::create_handle(&created);
  if (status != CUDNN_STATUS_SUCCESS) {
    *why = "cudnnCreate: " + CudnnStatusText(status);
    return kUnsupported;
  }
  st.handles.emplace(device, created);
  *handle = created;
  return kOk;
}

BuiltGraph Build(cudnnHandle_t handle, const GraphKey& key, float scale) {
  BuiltGraph built;
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(fe::DataType_t::BFLOAT16)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  const int64_t b = key.b, h = key.h, d = key.d;
  auto bshd = [&](const char* name, int64_t uid, int64_t s) {
    return fe::graph::Tensor_attributes()
        .set_name(name)
        .set_uid(uid)
        .set_dim({b, h, s, d})
        .set_stride({s * h * d, d, h * d, 1});
  };
  auto q = graph->tensor(bshd("Q", kQ, key.sq));
  auto k = graph->tensor(bshd("K", kK, key.skv));
  auto v = graph->tensor(bshd("V", kV, key.skv));
  auto options = fe::graph::SDPA_attributes().set_name("attention").set_generate_stats(key.stats).set_attn_scale(scale);
  auto outputs = graph->sdpa(q, k, v, options);
  outputs[0]->set_output(true).set_dim({b, h, key.sq, d}).set_stride({key.sq * h * d, d, h * d, 1}).set_uid(kO);
  if (key.stats) {
    outputs[1]
        ->set_output(true)
        .set_data_type(fe::DataType_t::FLOAT)
        .set_dim({b, h, key.sq, 1})
        .set_stride({h * key.sq, key.sq, 1, 1})
        .set_uid(kStats);
  }
  auto status = graph->build(handle, {fe::HeurMode_t::A});
  if (status.is_bad()) {
    built.why = "cuDNN cannot run this attention (B=" + std::to_string(b) + ", Sq=" + std::to_string(key.sq) +
                ", Skv=" + std::to_string(key.skv) + ", H=" + std::to_string(h) + ", D=" + std::to_string(d) +
                "): " + status.get_message();
    return built;
  }
  int64_t workspace = 0;
  status = graph->get_workspace_size(workspace);
  if (status.is_bad()) {
    built.why = "cuDNN workspace size: " + status.get_message();
    return built;
  }
  built.graph = std::move(graph);
  built.workspace = workspace;
  return built;
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" tessera_cuda_status tessera_cuda_attention_cudnn(const void* q, const void* k, const void* v, void* out,
                                                            float* lse, size_t batch, size_t q_len, size_t kv_len,
                                                            size_t heads, size_t head_dim, float scale,
                                                            tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_attention_cudnn";
  return Guard(what, [&]() -> tessera_cuda_status {
    if (batch == 0 || q_len == 0 || heads == 0) return kOk;
    TESSERA_REQUIRE(q && k && v && out, what, "null pointer");
    TESSERA_REQUIRE(kv_len > 0, what, "no keys (kv_len = 0): the softmax is undefined");
    TESSERA_REQUIRE(ValidDtype(dtype), what, "unknown dtype");
    // What cuDNN's flash attention covers; everything else goes to tessera_cuda_attention.
    if (dtype != TESSERA_CUDA_BF16) return Fail(kUnsupported, std::string(what) + ": cuDNN flash attention runs bf16 only");
    if (head_dim == 0 || head_dim % 8 != 0 || head_dim > 256)
      return Fail(kUnsupported, std::string(what) + ": head_dim " + std::to_string(head_dim) + " is not a multiple of 8 in 8..256");
    if (!Aligned16(q) || !Aligned16(k) || !Aligned16(v) || !Aligned16(out) || (lse && !Aligned16(lse)))
      return Fail(kUnsupported, std::string(what) + ": an operand is not 16-byte aligned");
    const size_t limit = size_t(INT32_MAX);
    if (batch > limit || q_len > limit || kv_len > limit || heads > limit)
      return Fail(kUnsupported, std::string(what) + ": a dimension exceeds INT32_MAX");

    CudnnState& st = State();
    std::lock_guard<std::mutex> lock(st.mutex);
    if (!EnsureLoaded(st)) return Fail(kUnsupported, std::string(what) + ": " + st.load_error);
    int device = 0;
    if (auto s = Check(cudaGetDevice(&device), "cudaGetDevice")) return s;
    cudnnHandle_t handle = nullptr;
    std::string why;
    if (HandleFor(st, device, &handle, &why) != kOk) return Fail(kUnsupported, std::string(what) + ": " + why);

    uint32_t scale_bits = 0;
    std::memcpy(&scale_bits, &scale, sizeof(scale_bits));
    const GraphKey key{device, int64_t(batch), int64_t(q_len), int64_t(kv_len), int64_t(heads), int64_t(head_dim),
                       lse != nullptr, scale_bits};
    auto it = st.graphs.find(key);
    if (it == st.graphs.end()) {
      BuiltGraph built;
      try {
        built = Build(handle, key, scale);
      } catch (const std::exception& e) {
        built = BuiltGraph{nullptr, 0, std::string("cuDNN graph build threw: ") + e.what()};
      }
      it = st.graphs.emplace(key, std::move(built)).first;
    }
    const BuiltGraph& built = it->second;
    if (!built.graph) return Fail(kUnsupported, std::string(what) + ": " + built.why);

    const cudnnStatus_t set = fe::detail::set_stream(handle, Native(stream));
    if (set != CUDNN_STATUS_SUCCESS) return Fail(kCudaFailure, std::string(what) + ": cudnnSetStream: " + CudnnStatusText(set));
    void* workspace = nullptr;
    if (built.workspace > 0) {
      if (auto s = tessera_cuda_malloc_async(&workspace, size_t(built.workspace), stream)) return s;
    }
    std::unordered_map<int64_t, void*> pointers{{kQ, const_cast<void*>(q)},
                                                {kK, const_cast<void*>(k)},
                                                {kV, const_cast<void*>(v)},
                                                {kO, out}};
    if (lse) pointers.emplace(kStats, lse);
    auto status = built.graph->execute(handle, pointers, workspace);
    // Stream-ordered: the workspace returns to the pool once the attention that uses it has run.
    const tessera_cuda_status freed = tessera_cuda_free_async(workspace, stream);
    if (status.is_bad()) return Fail(kCudaFailure, std::string(what) + ": cuDNN execute: " + status.get_message());
    return freed;
  });
}
