// What the worker's start-up check and the step tests read from the CUDA side of the addon:
//   cudaLibraries()            → { cublas, cublasLt, cudnn, nccl, driver }: each { found, path?, version?, error? }
//   bindCudaDevice(index)      makes the GPU current for this (the JavaScript) thread, before any tensor
//   cudaTransferCounts()       → { hostToDevice, hostToDeviceBytes, deviceToHost, deviceToHostBytes }
//   resetCudaTransferCounts()
//   cudaAttentionFallback()    → why the last GPU attention did not run through cuDNN ("" when it did)
//   cudaSynchronize()          waits for every kernel queued so far and reports any error they raised
// None of them throws for a missing GPU or library except bindCudaDevice: an absent piece is an answer.
#include <dlfcn.h>
#include <link.h>
#include <napi.h>

#include <string>

#include "comm/nccl_api.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_exports.h"
#include "cuda/device_memory.h"
#include "kernels/cuda_dispatch.h"
#include "util/errors.h"

namespace tessera::cuda {
namespace {

Napi::Object Missing(Napi::Env env, const std::string& error) {
  Napi::Object entry = Napi::Object::New(env);
  entry.Set("found", false);
  entry.Set("error", error);
  return entry;
}

Napi::Object Found(Napi::Env env, const std::string& path, int version) {
  Napi::Object entry = Napi::Object::New(env);
  entry.Set("found", true);
  entry.Set("path", path);
  entry.Set("version", version);
  return entry;
}

Napi::Object LibraryEntry(Napi::Env env, const CudaApi* api, const std::string& whyNot, tessera_cuda_library library) {
  if (!api) return Missing(env, "not checked: the CUDA backend is unavailable (" + whyNot + ")");
  char path[4096] = {0};
  int version = 0;
  if (api->library_info(library, path, sizeof(path), &version) != 0) return Missing(env, api->last_error());
  return Found(env, path, version);
}

// libcuda.so.1 as the dynamic loader finds it; the version is the CUDA version the driver supports.
Napi::Object DriverEntry(Napi::Env env, const CudaApi* api) {
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    return Missing(env, std::string("libcuda.so.1 not found: ") + (err ? err : "unknown dlopen error"));
  }
  std::string path = "libcuda.so.1";
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) path = map->l_name;
  int runtime = 0, driver = 0;
  if (api) api->versions(&runtime, &driver);
  dlclose(handle);
  return Found(env, path, driver);
}

Napi::Object NcclEntry(Napi::Env env) {
  try {
    std::string path;
    int version = 0;
    comm::nccl::LibraryInfo(&path, &version);
    return Found(env, path, version);
  } catch (const std::exception& e) {
    return Missing(env, e.what());
  }
}

Napi::Value CudaLibraries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string whyNot;
  const CudaApi* api = Api(&whyNot);
  Napi::Object out = Napi::Object::New(env);
  out.Set("driver", DriverEntry(env, api));
  out.Set("cublas", LibraryEntry(env, api, whyNot, TESSERA_CUDA_LIB_CUBLAS));
  out.Set("cublasLt", LibraryEntry(env, api, whyNot, TESSERA_CUDA_LIB_CUBLASLT));
  out.Set("cudnn", LibraryEntry(env, api, whyNot, TESSERA_CUDA_LIB_CUDNN));
  out.Set("nccl", NcclEntry(env));
  return out;
}

Napi::Value BindCudaDevice(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) FailType("bindCudaDevice: expected a device index");
  const double index = info[0].As<Napi::Number>().DoubleValue();
  if (!(index >= 0 && index < 1024) || index != static_cast<int>(index)) {
    FailType("bindCudaDevice: device index must be an integer in 0..1023, got " + std::to_string(index));
  }
  BindDevice(static_cast<int>(index));
  return info.Env().Undefined();
}

Napi::Value TransferCountsFn(const Napi::CallbackInfo& info) {
  const TransferCounts t = Transfers();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("hostToDevice", static_cast<double>(t.hostToDevice));
  out.Set("hostToDeviceBytes", static_cast<double>(t.hostToDeviceBytes));
  out.Set("deviceToHost", static_cast<double>(t.deviceToHost));
  out.Set("deviceToHostBytes", static_cast<double>(t.deviceToHostBytes));
  return out;
}

Napi::Value ResetTransferCountsFn(const Napi::CallbackInfo& info) {
  ResetTransfers();
  return info.Env().Undefined();
}

Napi::Value SynchronizeFn(const Napi::CallbackInfo& info) {
  const CudaApi& api = RequireApi();
  Check(api, api.stream_synchronize(nullptr), "cudaSynchronize");
  return info.Env().Undefined();
}

Napi::Value AttentionFallbackFn(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), gpu::AttentionFallbackReason());
}

}  // namespace

void ExportRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaLibraries", Napi::Function::New(env, Guarded<CudaLibraries>, "cudaLibraries"));
  exports.Set("bindCudaDevice", Napi::Function::New(env, Guarded<BindCudaDevice>, "bindCudaDevice"));
  exports.Set("cudaTransferCounts", Napi::Function::New(env, Guarded<TransferCountsFn>, "cudaTransferCounts"));
  exports.Set("resetCudaTransferCounts", Napi::Function::New(env, Guarded<ResetTransferCountsFn>, "resetCudaTransferCounts"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, Guarded<SynchronizeFn>, "cudaSynchronize"));
  exports.Set("cudaAttentionFallback", Napi::Function::New(env, Guarded<AttentionFallbackFn>, "cudaAttentionFallback"));
}

}  // namespace tessera::cuda
