// Library identity, errors, devices, memory and streams: thin checked wrappers over the CUDA runtime
// (linked statically, so the library needs only the driver, libcuda.so.1, at run time).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "common.cuh"
#include "libraries.h"

namespace tessera_cuda {

namespace {
thread_local std::string last_error;
}

tessera_cuda_status Fail(tessera_cuda_status status, const std::string& message) {
  try {
    last_error = message;
  } catch (...) {
    // Out of memory while recording the message: keep the status, lose the text.
  }
  return status;
}

tessera_cuda_status Check(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return kOk;
  cudaGetLastError();  // clear the runtime's error slot so the next call does not report this one again
  return Fail(kCudaFailure, std::string(what) + ": " + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")");
}

namespace {

// Whether the current device allocates from a stream-ordered pool; the first answer per device also sets
// the pool to keep what is freed (release threshold: never), so steady-state allocation is a lookup.
tessera_cuda_status PoolFor(int device, bool* pooled) {
  static std::mutex mutex;
  static std::set<int> prepared, unsupported;
  std::lock_guard<std::mutex> lock(mutex);
  *pooled = unsupported.count(device) == 0;
  if (prepared.count(device)) return kOk;
  int supported = 0;
  if (auto s = Check(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device),
                     "cudaDeviceGetAttribute(cudaDevAttrMemoryPoolsSupported)"))
    return s;
  if (supported) {
    cudaMemPool_t pool = nullptr;
    if (auto s = Check(cudaDeviceGetDefaultMemPool(&pool, device), "cudaDeviceGetDefaultMemPool")) return s;
    uint64_t keep_all = UINT64_MAX;
    if (auto s = Check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all),
                       "cudaMemPoolSetAttribute(cudaMemPoolAttrReleaseThreshold)"))
      return s;
  } else {
    unsupported.insert(device);
    *pooled = false;
  }
  prepared.insert(device);
  return kOk;
}

std::string SizeText(size_t bytes) { return std::to_string(bytes) + " bytes (" + std::to_string(bytes >> 20) + " MiB)"; }

}  // namespace

}  // namespace tessera_cuda

using namespace tessera_cuda;

extern "C" {

int tessera_cuda_abi_version(void) { return TESSERA_CUDA_ABI_VERSION; }

const char* tessera_cuda_last_error(void) { return last_error.c_str(); }

tessera_cuda_status tessera_cuda_versions(int* runtime_version, int* driver_version) {
  TESSERA_REQUIRE(runtime_version && driver_version, "tessera_cuda_versions", "null output pointer");
  *runtime_version = 0;
  *driver_version = 0;
  if (auto s = Check(cudaRuntimeGetVersion(runtime_version), "cudaRuntimeGetVersion")) return s;
  // With no driver installed cudaDriverGetVersion reports 0 and succeeds, which is what we want.
  return Check(cudaDriverGetVersion(driver_version), "cudaDriverGetVersion");
}

tessera_cuda_status tessera_cuda_library_info(tessera_cuda_library library, char* path, size_t path_size, int* version) {
  const char* what = "tessera_cuda_library_info";
  TESSERA_REQUIRE(path && path_size > 0 && version, what, "null output pointer or empty path buffer");
  TESSERA_REQUIRE(library == TESSERA_CUDA_LIB_CUBLAS || library == TESSERA_CUDA_LIB_CUBLASLT ||
                      library == TESSERA_CUDA_LIB_CUDNN,
                  what, "unknown library " + std::to_string(int(library)));
  path[0] = '\0';
  *version = 0;
  return Guard(what, [&]() -> tessera_cuda_status {
    const LoadedLibrary& lib = Library(library);
    if (!lib.handle) return Fail(kLibraryMissing, lib.error);
    std::snprintf(path, path_size, "%s", lib.path.c_str());
    // Each library's own version call; all three number versions major·10000 + minor·100 + patch.
    if (library == TESSERA_CUDA_LIB_CUBLAS) {
      using GetProperty = int (*)(int, int*);  // cublasGetProperty(libraryPropertyType, int*)
      if (auto get = reinterpret_cast<GetProperty>(lib.Symbol("cublasGetProperty"))) {
        int major = 0, minor = 0, patch = 0;
        if (get(MAJOR_VERSION, &major) == 0 && get(MINOR_VERSION, &minor) == 0 && get(PATCH_LEVEL, &patch) == 0)
          *version = major * 10000 + minor * 100 + patch;
      }
    } else {
      using GetVersion = size_t (*)(void);  // cublasLtGetVersion, cudnnGetVersion
      const char* symbol = library == TESSERA_CUDA_LIB_CUBLASLT ? "cublasLtGetVersion" : "cudnnGetVersion";
      if (auto get = reinterpret_cast<GetVersion>(lib.Symbol(symbol))) *version = int(get());
    }
    return kOk;
  });
}

tessera_cuda_status tessera_cuda_device_count(int* count) {
  TESSERA_REQUIRE(count, "tessera_cuda_device_count", "null output pointer");
  *count = 0;
  return Check(cudaGetDeviceCount(count), "cudaGetDeviceCount");
}

tessera_cuda_status tessera_cuda_device_info_get(int device, tessera_cuda_device_info* info) {
  TESSERA_REQUIRE(info, "tessera_cuda_device_info_get", "null output pointer");
  cudaDeviceProp prop;
  if (auto s = Check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties")) return s;
  std::memset(info, 0, sizeof(*info));
  std::snprintf(info->name, sizeof(info->name), "%s", prop.name);
  info->total_memory = prop.totalGlobalMem;
  info->compute_major = prop.major;
  info->compute_minor = prop.minor;
  info->multiprocessors = prop.multiProcessorCount;
  return kOk;
}

tessera_cuda_status tessera_cuda_set_device(int device) { return Check(cudaSetDevice(device), "cudaSetDevice"); }

tessera_cuda_status tessera_cuda_get_device(int* device) {
  TESSERA_REQUIRE(device, "tessera_cuda_get_device", "null output pointer");
  return Check(cudaGetDevice(device), "cudaGetDevice");
}

tessera_cuda_status tessera_cuda_malloc(void** ptr, size_t bytes) {
  TESSERA_REQUIRE(ptr, "tessera_cuda_malloc", "null output pointer");
  *ptr = nullptr;
  if (bytes == 0) return kOk;
  cudaError_t e = cudaMalloc(ptr, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Fail(kCudaFailure, "cudaMalloc of " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(e));
  }
  return kOk;
}

tessera_cuda_status tessera_cuda_free(void* ptr) {
  if (!ptr) return kOk;
  return Check(cudaFree(ptr), "cudaFree");
}

tessera_cuda_status tessera_cuda_malloc_async(void** ptr, size_t bytes, tessera_cuda_stream_t stream) {
  const char* what = "tessera_cuda_malloc_async";
  TESSERA_REQUIRE(ptr, what, "null output pointer");
  *ptr = nullptr;
  if (bytes == 0) return kOk;
  int device = 0;
  if (auto s = Check(cudaGetDevice(&device), "cudaGetDevice")) return s;
  bool pooled = false;
  if (auto s = PoolFor(device, &pooled)) return s;
  if (!pooled) return tessera_cuda_malloc(ptr, bytes);
  cudaError_t e = cudaMallocAsync(ptr, bytes, Native(stream));
  if (e == cudaErrorMemoryAllocation) {
    // What the pool keeps for reuse may be what is missing (cuBLAS, cuDNN and NCCL allocate outside it):
    // give it back to the driver once and retry before reporting.
    cudaGetLastError();
    cudaMemPool_t pool = nullptr;
    if (cudaStreamSynchronize(Native(stream)) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess)
      cudaMemPoolTrimTo(pool, 0);
    cudaGetLastError();
    e = cudaMallocAsync(ptr, bytes, Native(stream));
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    *ptr = nullptr;
    return Fail(kCudaFailure, "cudaMallocAsync of " + SizeText(bytes) + " on device " + std::to_string(device) + ": " +
                                  cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + "); " + SizeText(free_bytes) +
                                  " free of " + SizeText(total_bytes));
  }
  return kOk;
}

tessera_cuda_status tessera_cuda_free_async(void* ptr, tessera_cuda_stream_t stream) {
  if (!ptr) return kOk;
  int device = 0;
  if (auto s = Check(cudaGetDevice(&device), "cudaGetDevice")) return s;
  bool pooled = false;
  if (auto s = PoolFor(device, &pooled)) return s;
  if (!pooled) return tessera_cuda_free(ptr);
  return Check(cudaFreeAsync(ptr, Native(stream)), "cudaFreeAsync");
}

static tessera_cuda_status Copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                                tessera_cuda_stream_t stream, const char* what) {
  if (bytes == 0) return kOk;
  TESSERA_REQUIRE(dst && src, what, "null pointer");
  return Check(cudaMemcpyAsync(dst, src, bytes, kind, Native(stream)), what);
}

tessera_cuda_status tessera_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t stream) {
  return Copy(dst, src, bytes, cudaMemcpyHostToDevice, stream, "tessera_cuda_memcpy_h2d");
}
tessera_cuda_status tessera_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t stream) {
  return Copy(dst, src, bytes, cudaMemcpyDeviceToHost, stream, "tessera_cuda_memcpy_d2h");
}
tessera_cuda_status tessera_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes, tessera_cuda_stream_t stream) {
  return Copy(dst, src, bytes, cudaMemcpyDeviceToDevice, stream, "tessera_cuda_memcpy_d2d");
}

tessera_cuda_status tessera_cuda_memset_zero(void* dst, size_t bytes, tessera_cuda_stream_t stream) {
  if (bytes == 0) return kOk;
  TESSERA_REQUIRE(dst, "tessera_cuda_memset_zero", "null pointer");
  return Check(cudaMemsetAsync(dst, 0, bytes, Native(stream)), "tessera_cuda_memset_zero");
}

tessera_cuda_status tessera_cuda_stream_create(tessera_cuda_stream_t* stream) {
  TESSERA_REQUIRE(stream, "tessera_cuda_stream_create", "null output pointer");
  cudaStream_t s = nullptr;
  // Non-blocking: our streams must not serialise against the legacy default stream other code uses.
  if (auto st = Check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate")) return st;
  *stream = reinterpret_cast<tessera_cuda_stream_t>(s);
  return kOk;
}

tessera_cuda_status tessera_cuda_stream_destroy(tessera_cuda_stream_t stream) {
  if (!stream) return kOk;
  return Check(cudaStreamDestroy(Native(stream)), "cudaStreamDestroy");
}

tessera_cuda_status tessera_cuda_stream_synchronize(tessera_cuda_stream_t stream) {
  return Check(cudaStreamSynchronize(Native(stream)), "cudaStreamSynchronize");
}

}  // extern "C"
