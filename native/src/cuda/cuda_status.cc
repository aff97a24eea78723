// cudaStatus(): whether the CUDA backend can be used here, and why not. Never throws for a missing
// GPU, driver or library: that is an answer, not an error.
#include <napi.h>

#include "cuda/cuda_api.h"
#include "cuda/cuda_exports.h"
#include "util/errors.h"

namespace tessera::cuda {
namespace {

Napi::Value DeviceList(Napi::Env env, const CudaApi& api) {
  int count = 0;
  Check(api, api.device_count(&count), "cudaStatus: device count");
  Napi::Array devices = Napi::Array::New(env, static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    tessera_cuda_device_info info{};
    Check(api, api.device_info_get(i, &info), "cudaStatus: device properties");
    Napi::Object device = Napi::Object::New(env);
    device.Set("index", i);
    device.Set("name", std::string(info.name));
    device.Set("totalMemoryBytes", static_cast<double>(info.total_memory));
    device.Set("computeCapability", std::to_string(info.compute_major) + "." + std::to_string(info.compute_minor));
    device.Set("multiprocessors", info.multiprocessors);
    devices.Set(static_cast<uint32_t>(i), device);
  }
  return devices;
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object status = Napi::Object::New(env);
  std::string whyNot;
  const CudaApi* api = Api(&whyNot);
  status.Set("library", LibraryPath());
  status.Set("available", api != nullptr);
  if (!api) {
    status.Set("reason", whyNot);
    status.Set("devices", Napi::Array::New(env));
    return status;
  }
  int runtime = 0, driver = 0;
  Check(*api, api->versions(&runtime, &driver), "cudaStatus: versions");
  status.Set("reason", env.Null());
  status.Set("runtimeVersion", runtime);
  status.Set("driverVersion", driver);
  status.Set("devices", DeviceList(env, *api));
  return status;
}

}  // namespace

void ExportStatus(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaStatus", Napi::Function::New(env, Guarded<CudaStatus>, "cudaStatus"));
}

}  // namespace tessera::cuda
