#include "cuda/device_memory.h"

#include <string>

#include "util/errors.h"

namespace tessera::cuda {

const CudaApi& RequireApi() {
  std::string whyNot;
  const CudaApi* api = Api(&whyNot);
  if (!api) Fail("device 'cuda' is not available: " + whyNot);
  return *api;
}

std::shared_ptr<void> AllocateDevice(std::size_t bytes) {
  const CudaApi& api = RequireApi();
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  Check(api, api.malloc(&ptr, bytes), "allocating CUDA memory");
  // A deleter cannot report failure; cudaFree fails only for a pointer it did not hand out.
  return std::shared_ptr<void>(ptr, [api = &api](void* p) { api->free(p); });
}

void CopyToDevice(void* device, const void* host, std::size_t bytes) {
  const CudaApi& api = RequireApi();
  Check(api, api.memcpy_h2d(device, host, bytes, nullptr), "copy to CUDA memory");
  Check(api, api.stream_synchronize(nullptr), "copy to CUDA memory");
}

void CopyToHost(void* host, const void* device, std::size_t bytes) {
  const CudaApi& api = RequireApi();
  Check(api, api.memcpy_d2h(host, device, bytes, nullptr), "copy from CUDA memory");
  Check(api, api.stream_synchronize(nullptr), "copy from CUDA memory");
}

}  // namespace tessera::cuda
