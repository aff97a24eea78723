// Linear layers through cuBLASLt: one cublasLtMatmul per call computes x·wᵀ, adds the bias and applies
// GELU in its epilogue, on the float32 accumulator, so a Linear(+GELU) reads and writes its output once.
// cuBLASLt is reached through dlopen (libraries.h); its header supplies only types and enum values.
//
// A plan (descriptors + the heuristic's algorithm) is made once per shape, dtype, epilogue and pointer
// alignment and kept, since asking the heuristic costs more than many small GEMMs. Where cuBLASLt is
// absent or has no algorithm, the call falls back to cuBLAS (tessera_cuda_gemm) and separate bias and
// GELU kernels, which give the same result up to the rounding of the intermediate.
#include <cublasLt.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "common.cuh"
#include "libraries.h"

namespace tessera_cuda {
namespace {

struct LtApi {
  decltype(&cublasLtCreate) create = nullptr;
  decltype(&cublasLtGetVersion) get_version = nullptr;
  decltype(&cublasLtGetStatusString) status_string = nullptr;
  decltype(&cublasLtMatmulDescCreate) desc_create = nullptr;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy = nullptr;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set = nullptr;
  decltype(&cublasLtMatrixLayoutCreate) layout_create = nullptr;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create = nullptr;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set = nullptr;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&cublasLtMatmul) matmul = nullptr;
  std::string error;  // why the API is unusable; empty when every symbol resolved
};

const LtApi& Lt() {
  static LtApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    const LoadedLibrary& lib = Library(TESSERA_CUDA_LIB_CUBLASLT);
    if (!lib.handle) {
      api.error = lib.error;
      return;
    }
    std::string missing;
    auto bind = [&](auto& slot, const char* name) {
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(lib.Symbol(name));
      if (!slot) missing += std::string(missing.empty() ? "" : ", ") + name;
    };
    bind(api.create, "cublasLtCreate");
    bind(api.get_version, "cublasLtGetVersion");
    bind(api.status_string, "cublasLtGetStatusString");
    bind(api.desc_create, "cublasLtMatmulDescCreate");
    bind(api.desc_destroy, "cublasLtMatmulDescDestroy");
    bind(api.desc_set, "cublasLtMatmulDescSetAttribute");
    bind(api.layout_create, "cublasLtMatrixLayoutCreate");
    bind(api.layout_destroy, "cublasLtMatrixLayoutDestroy");
    bind(api.pref_create, "cublasLtMatmulPreferenceCreate");
    bind(api.pref_destroy, "cublasLtMatmulPreferenceDestroy");
    bind(api.pref_set, "cublasLtMatmulPreferenceSetAttribute");
    bind(api.heuristic, "cublasLtMatmulAlgoGetHeuristic");
    bind(api.matmul, "cublasLtMatmul");
    if (!missing.empty()) api.error = lib.path + " lacks " + missing + " (cuBLASLt too old?)";
  });
  return api;
}

std::string LtStatus(const LtApi& api, cublasStatus_t status) {
  std::string text = "cuBLASLt status " + std::to_string(int(status));
  if (api.status_string) text += std::string(" (") + api.status_string(status) + ")";
  return text;
}

// The largest power of two (≤ 256) dividing the address: cuBLASLt kernels assume their operands are at
// least as aligned as the preference says, and views into a larger tensor often are not 256-aligned.
uint32_t AlignmentOf(const void* p) {
  if (!p) return 256;
  const auto address = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && address % align != 0) align >>= 1;
  return align;
}

// 32 MiB: what NVIDIA recommends for Hopper; smaller GPUs use less of it.
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct PlanKey {
  int device;
  size_t m, n, k;
  int dtype, epilogue;
  bool bias;
  uint32_t align_x, align_w, align_out, align_bias;
  bool operator<(const PlanKey& o) const {
    return std::tie(device, m, n, k, dtype, epilogue, bias, align_x, align_w, align_out, align_bias) <
           std::tie(o.device, o.m, o.n, o.k, o.dtype, o.epilogue, o.bias, o.align_x, o.align_w, o.align_out,
                    o.align_bias);
  }
};

struct Plan {
  bool usable = false;  // false: the heuristic found nothing; use the fallback
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t w_layout = nullptr, x_layout = nullptr, out_layout = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

// Plans, handles and workspaces of every device, behind one mutex. The mutex is held across the enqueue
// too: a plan's descriptor gets this call's bias pointer, and a workspace must not serve two calls at
// once. cublasLtMatmul only enqueues, so this serialises microseconds of host work, not the GEMMs.
struct LtState {
  std::mutex mutex;
  std::map<int, cublasLtHandle_t> handles;
  std::map<std::pair<int, cudaStream_t>, void*> workspaces;
  std::map<PlanKey, Plan> plans;
};

LtState& State() {
  static LtState* state = new LtState();  // never destroyed: device state must outlive static teardown
  return *state;
}

tessera_cuda_status Handle(const LtApi& api, LtState& st, int device, cublasLtHandle_t* handle) {
  auto it = st.handles.find(device);
  if (it != st.handles.end()) {
    *handle = it->second;
    return kOk;
  }
  cublasLtHandle_t created = nullptr;
  const cublasStatus_t status = api.create(&created);
  if (status != CUBLAS_STATUS_SUCCESS) return Fail(kCudaFailure, "cublasLtCreate: " + LtStatus(api, status));
  st.handles.emplace(device, created);
  *handle = created;
  return kOk;
}

tessera_cuda_status Workspace(LtState& st, int device, cudaStream_t stream, void** workspace) {
  const auto key = std::make_pair(device, stream);
  auto it = st.workspaces.find(key);
  if (it != st.workspaces.end()) {
    *workspace = it->second;
    return kOk;
  }
  void* memory = nullptr;
  if (auto s = Check(cudaMalloc(&memory, kWorkspaceBytes), "cuBLASLt workspace (cudaMalloc of 32 MiB)")) return s;
  st.workspaces.emplace(key, memory);
  *workspace = memory;
  return kOk;
}

void DestroyPlan(const LtApi& api, Plan* plan) {
  if (plan->out_layout) api.layout_destroy(plan->out_layout);
  if (plan->x_layout) api.layout_destroy(plan->x_layout);
  if (plan->w_layout) api.layout_destroy(plan->w_layout);
  if (plan->desc) api.desc_destroy(plan->desc);
  *plan = Plan{};
}

// Builds the descriptors for row-major out[m, n] = x[m, k]·w[n, k]ᵀ. cuBLASLt is column-major: the same
// memory read column-major is outᵀ[n, m] = w[n, k]·xᵀ[k, m], i.e. A = w (stored k×n, transposed), B = x
// (stored k×m), D = out (n×m, leading dimension n). The bias then runs along D's rows, as the epilogue
// expects ("bias vector length must match matrix D rows count").
tessera_cuda_status MakePlan(const LtApi& api, cublasLtHandle_t handle, const PlanKey& key, Plan* plan) {
  const cudaDataType_t type = key.dtype == TESSERA_CUDA_BF16 ? CUDA_R_16BF : CUDA_R_32F;
  const char* what = "cuBLASLt plan";
  auto check = [&](cublasStatus_t status, const char* call) -> tessera_cuda_status {
    if (status == CUBLAS_STATUS_SUCCESS) return kOk;
    return Fail(kCudaFailure, std::string(what) + ": " + call + ": " + LtStatus(api, status));
  };
  // float32 compute without TF32: the f32 path must match the CPU within float32 rounding.
  if (auto s = check(api.desc_create(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate")) return s;
  const int32_t trans_w = CUBLAS_OP_T, trans_x = CUBLAS_OP_N;
  if (auto s = check(api.desc_set(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_w, sizeof(trans_w)), "TRANSA")) return s;
  if (auto s = check(api.desc_set(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_x, sizeof(trans_x)), "TRANSB")) return s;
  const bool gelu = key.epilogue == TESSERA_CUDA_EPILOGUE_GELU_TANH;
  const uint32_t epilogue = key.bias ? (gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                     : (gelu ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
  if (auto s = check(api.desc_set(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)), "EPILOGUE"))
    return s;
  if (key.bias) {
    const int32_t bias_type = type;
    if (auto s = check(api.desc_set(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof(bias_type)),
                       "BIAS_DATA_TYPE"))
      return s;
  }
  if (auto s = check(api.layout_create(&plan->w_layout, type, key.k, key.n, int64_t(key.k)), "layout of w")) return s;
  if (auto s = check(api.layout_create(&plan->x_layout, type, key.k, key.m, int64_t(key.k)), "layout of x")) return s;
  if (auto s = check(api.layout_create(&plan->out_layout, type, key.n, key.m, int64_t(key.n)), "layout of out")) return s;

  cublasLtMatmulPreference_t pref = nullptr;
  if (auto s = check(api.pref_create(&pref), "cublasLtMatmulPreferenceCreate")) return s;
  const uint64_t workspace = kWorkspaceBytes;
  cublasStatus_t status = api.pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
  const uint32_t aligns[4] = {key.align_w, key.align_x, key.align_out, key.align_out};
  const cublasLtMatmulPreferenceAttributes_t align_attrs[4] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (int i = 0; i < 4 && status == CUBLAS_STATUS_SUCCESS; ++i)
    status = api.pref_set(pref, align_attrs[i], &aligns[i], sizeof(aligns[i]));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = api.heuristic(handle, plan->desc, plan->w_layout, plan->x_layout, plan->out_layout, plan->out_layout, pref,
                           1, &result, &found);
  }
  api.pref_destroy(pref);
  // NOT_SUPPORTED or no result: this configuration has no cuBLASLt kernel; the caller falls back.
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || (status == CUBLAS_STATUS_SUCCESS && found == 0)) return kOk;
  if (auto s = check(status, "cublasLtMatmulAlgoGetHeuristic")) return s;
  if (result.state != CUBLAS_STATUS_SUCCESS || result.workspaceSize > kWorkspaceBytes) return kOk;
  plan->algo = result.algo;
  plan->usable = true;
  return kOk;
}

// out = epilogue(x·wᵀ + bias) without cuBLASLt.
tessera_cuda_status Fallback(const void* x, const void* w, const void* bias, void* out, size_t m, size_t n, size_t k,
                             tessera_cuda_epilogue epilogue, tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  if (auto s = tessera_cuda_gemm(0, 1, m, n, k, 1.0f, x, w, 0.0f, out, dtype, stream)) return s;
  if (bias) {
    if (auto s = tessera_cuda_binary(TESSERA_CUDA_ADD, out, m * n, bias, n, out, dtype, stream)) return s;
  }
  if (epilogue == TESSERA_CUDA_EPILOGUE_GELU_TANH) return tessera_cuda_unary(TESSERA_CUDA_GELU_TANH, out, out, m * n, dtype, stream);
  return kOk;
}

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" tessera_cuda_status tessera_cuda_linear(const void* x, const void* w, const void* bias, void* out, size_t m,
                                                   size_t n, size_t k, tessera_cuda_epilogue epilogue,
                                                   tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_linear";
  return Guard(what, [&]() -> tessera_cuda_status {
    if (m == 0 || n == 0) return kOk;
    TESSERA_REQUIRE(x && w && out, what, "null pointer");
    TESSERA_REQUIRE(ValidDtype(dtype), what, "unknown dtype");
    TESSERA_REQUIRE(k > 0, what, "k = 0 (empty inner dimension)");
    TESSERA_REQUIRE(epilogue == TESSERA_CUDA_EPILOGUE_NONE || epilogue == TESSERA_CUDA_EPILOGUE_GELU_TANH, what,
                    "unknown epilogue " + std::to_string(int(epilogue)));
    TESSERA_REQUIRE(m <= size_t(INT64_MAX) && n <= size_t(INT64_MAX) && k <= size_t(INT64_MAX), what,
                    "a dimension exceeds INT64_MAX");
    const LtApi& api = Lt();
    if (!api.error.empty()) return Fallback(x, w, bias, out, m, n, k, epilogue, dtype, stream);

    int device = 0;
    if (auto s = Check(cudaGetDevice(&device), "cudaGetDevice")) return s;
    const PlanKey key{device, m, n, k, int(dtype), int(epilogue), bias != nullptr, AlignmentOf(x), AlignmentOf(w),
                      AlignmentOf(out), AlignmentOf(bias)};
    LtState& st = State();
    std::unique_lock<std::mutex> lock(st.mutex);
    cublasLtHandle_t handle = nullptr;
    if (auto s = Handle(api, st, device, &handle)) return s;
    auto it = st.plans.find(key);
    if (it == st.plans.end()) {
      Plan plan;
      if (auto s = MakePlan(api, handle, key, &plan)) {
        DestroyPlan(api, &plan);
        return s;
      }
      it = st.plans.emplace(key, plan).first;
    }
    Plan& plan = it->second;
    if (!plan.usable) {
      lock.unlock();
      return Fallback(x, w, bias, out, m, n, k, epilogue, dtype, stream);
    }
    if (bias) {
      const cublasStatus_t status = api.desc_set(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias));
      if (status != CUBLAS_STATUS_SUCCESS) return Fail(kCudaFailure, std::string(what) + ": BIAS_POINTER: " + LtStatus(api, status));
    }
    void* workspace = nullptr;
    if (auto s = Workspace(st, device, Native(stream), &workspace)) return s;
    const float alpha = 1.0f, beta = 0.0f;
    const cublasStatus_t status = api.matmul(handle, plan.desc, &alpha, w, plan.w_layout, x, plan.x_layout, &beta, out,
                                             plan.out_layout, out, plan.out_layout, &plan.algo, workspace,
                                             kWorkspaceBytes, Native(stream));
    if (status == CUBLAS_STATUS_NOT_SUPPORTED) {
      plan.usable = false;  // never ask again for this key
      lock.unlock();
      return Fallback(x, w, bias, out, m, n, k, epilogue, dtype, stream);
    }
    if (status != CUBLAS_STATUS_SUCCESS) return Fail(kCudaFailure, std::string(what) + ": cublasLtMatmul: " + LtStatus(api, status));
    return kOk;
  });
}
