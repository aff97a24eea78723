// GEMM through cuBLAS, loaded with dlopen on first use (libraries.h) so that neither building nor loading
// this library needs cuBLAS libraries. The few prototypes and enum values used are declared here, from
// the cuBLAS API (stable across 12.x and 13.x).
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common.cuh"
#include "libraries.h"

namespace tessera_cuda {
namespace {

// --- cuBLAS declarations (values from the cuBLAS API reference) -----------------------------------
using cublasHandle_t = struct cublasContext*;
using cublasStatus_t = int;  // 0 = CUBLAS_STATUS_SUCCESS
enum cublasOperation : int { kCublasOpN = 0, kCublasOpT = 1 };
constexpr int kCublasCompute32F = 68;  // CUBLAS_COMPUTE_32F
constexpr int kCublasGemmDefault = -1;  // CUBLAS_GEMM_DEFAULT

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using SgemmFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const float*, const float*, int,
                                   const float*, int, const float*, float*, int);
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*, cudaDataType,
                                    int, const void*, cudaDataType, int, const void*, void*, cudaDataType, int, int,
                                    int);
using StatusStringFn = const char* (*)(cublasStatus_t);

struct Cublas {
  void* library = nullptr;
  std::string load_error;  // why library is null
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  SgemmFn sgemm = nullptr;
  GemmExFn gemm_ex = nullptr;
  StatusStringFn status_string = nullptr;  // (optional) absent in old releases
};

// Bound once per process; the library is never closed (libraries.h).
const Cublas& LoadCublas() {
  static Cublas cublas;
  static std::once_flag once;
  std::call_once(once, [] {
    const LoadedLibrary& lib = Library(TESSERA_CUDA_LIB_CUBLAS);
    if (!lib.handle) {
      cublas.load_error = lib.error;
      return;
    }
    cublas.create = reinterpret_cast<CreateFn>(lib.Symbol("cublasCreate_v2"));
    cublas.set_stream = reinterpret_cast<SetStreamFn>(lib.Symbol("cublasSetStream_v2"));
    cublas.sgemm = reinterpret_cast<SgemmFn>(lib.Symbol("cublasSgemm_v2"));
    cublas.gemm_ex = reinterpret_cast<GemmExFn>(lib.Symbol("cublasGemmEx"));
    cublas.status_string = reinterpret_cast<StatusStringFn>(lib.Symbol("cublasGetStatusString"));
    if (!cublas.create || !cublas.set_stream || !cublas.sgemm || !cublas.gemm_ex) {
      cublas.load_error = lib.path + " lacks cublasCreate_v2/cublasSetStream_v2/cublasSgemm_v2/cublasGemmEx";
      return;
    }
    cublas.library = lib.handle;
  });
  return cublas;
}

std::string StatusText(const Cublas& cublas, cublasStatus_t status) {
  std::string text = "cuBLAS status " + std::to_string(status);
  if (cublas.status_string) text += std::string(" (") + cublas.status_string(status) + ")";
  return text;
}

// One handle per (thread, device), created on first use. Handles are deliberately not destroyed at
// thread exit: that runs during process teardown, after the CUDA runtime may already be gone.
tessera_cuda_status HandleFor(const Cublas& cublas, cublasHandle_t* handle) {
  thread_local std::unordered_map<int, cublasHandle_t> handles;
  int device = 0;
  if (auto s = Check(cudaGetDevice(&device), "cudaGetDevice")) return s;
  auto it = handles.find(device);
  if (it != handles.end()) {
    *handle = it->second;
    return kOk;
  }
  cublasHandle_t created = nullptr;
  const cublasStatus_t status = cublas.create(&created);
  if (status != 0) return Fail(kCudaFailure, "cublasCreate: " + StatusText(cublas, status));
  handles.emplace(device, created);
  *handle = created;
  return kOk;
}

bool FitsInt(size_t v) { return v <= size_t(INT_MAX); }

}  // namespace
}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" tessera_cuda_status tessera_cuda_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                                                 const void* a, const void* b, float beta, void* c,
                                                 tessera_cuda_dtype dtype, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_gemm";
  return Guard(what, [&]() -> tessera_cuda_status {
    if (m == 0 || n == 0) return kOk;
    TESSERA_REQUIRE(a && b && c, what, "null pointer");
    TESSERA_REQUIRE(ValidDtype(dtype), what, "unknown dtype");
    TESSERA_REQUIRE(k > 0, what, "k = 0 (empty inner dimension)");
    TESSERA_REQUIRE(FitsInt(m) && FitsInt(n) && FitsInt(k), what, "a dimension exceeds INT_MAX");
    const Cublas& cublas = LoadCublas();
    if (!cublas.library) return Fail(kLibraryMissing, std::string(what) + ": " + cublas.load_error);
    cublasHandle_t handle = nullptr;
    if (auto s = HandleFor(cublas, &handle)) return s;
    cublasStatus_t status = cublas.set_stream(handle, Native(stream));
    if (status != 0) return Fail(kCudaFailure, "cublasSetStream: " + StatusText(cublas, status));

    // cuBLAS is column-major; a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, which
    // is the same call with the operands swapped and each leading dimension the row length in memory.
    const int op_a = trans_a ? kCublasOpT : kCublasOpN, op_b = trans_b ? kCublasOpT : kCublasOpN;
    const int lda = int(trans_a ? m : k), ldb = int(trans_b ? k : n), ldc = int(n);
    if (dtype == TESSERA_CUDA_F32) {
      status = cublas.sgemm(handle, op_b, op_a, int(n), int(m), int(k), &alpha, static_cast<const float*>(b), ldb,
                            static_cast<const float*>(a), lda, &beta, static_cast<float*>(c), ldc);
    } else {
      status = cublas.gemm_ex(handle, op_b, op_a, int(n), int(m), int(k), &alpha, b, CUDA_R_16BF, ldb, a, CUDA_R_16BF,
                              lda, &beta, c, CUDA_R_16BF, ldc, kCublasCompute32F, kCublasGemmDefault);
    }
    if (status != 0) return Fail(kCudaFailure, std::string(what) + ": " + StatusText(cublas, status));
    return kOk;
  });
}
