// Statuses and argument checks of the C ABI, for every translation unit of libtessera_cuda (host-only
// ones such as the cuDNN path included): the per-thread error slot, CUDA errors turned into statuses
// that name the operation, and the guard that keeps exceptions from crossing the C boundary.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "tessera_cuda.h"

namespace tessera_cuda {

constexpr tessera_cuda_status kOk = TESSERA_CUDA_OK;
constexpr tessera_cuda_status kInvalidArgument = TESSERA_CUDA_INVALID_ARGUMENT;
constexpr tessera_cuda_status kCudaFailure = TESSERA_CUDA_FAILURE;
constexpr tessera_cuda_status kLibraryMissing = TESSERA_CUDA_LIBRARY_MISSING;
constexpr tessera_cuda_status kInternal = TESSERA_CUDA_INTERNAL;
constexpr tessera_cuda_status kUnsupported = TESSERA_CUDA_UNSUPPORTED;

// Records `message` as the calling thread's last error and returns `status`.
tessera_cuda_status Fail(tessera_cuda_status status, const std::string& message);

// Converts a CUDA error into a status naming the operation that failed.
tessera_cuda_status Check(cudaError_t error, const char* what);

// Checks the launch just queued (configuration errors surface here, not at the next sync).
inline tessera_cuda_status CheckLaunch(const char* kernel) { return Check(cudaGetLastError(), kernel); }

// Runs `body` and maps any C++ exception to a status: nothing may unwind through the C ABI.
template <typename Body>
tessera_cuda_status Guard(const char* what, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    return Fail(kInternal, std::string(what) + ": " + e.what());
  } catch (...) {
    return Fail(kInternal, std::string(what) + ": unknown exception");
  }
}

inline bool ValidDtype(tessera_cuda_dtype dtype) { return dtype == TESSERA_CUDA_F32 || dtype == TESSERA_CUDA_BF16; }

inline cudaStream_t Native(tessera_cuda_stream_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

}  // namespace tessera_cuda

// Argument checks used at the top of every entry point.
#define TESSERA_REQUIRE(cond, what, message)                                                         \
  do {                                                                                               \
    if (!(cond)) return ::tessera_cuda::Fail(::tessera_cuda::kInvalidArgument, std::string(what) + ": " + (message)); \
  } while (0)
