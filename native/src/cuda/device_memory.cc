#include "cuda/device_memory.h"

#include <atomic>
#include <string>

#include "util/errors.h"

namespace tessera::cuda {
namespace {

std::atomic<uint64_t> h2dCount{0}, h2dBytes{0}, d2hCount{0}, d2hBytes{0};

}  // namespace

const CudaApi& RequireApi() {
  std::string whyNot;
  const CudaApi* api = Api(&whyNot);
  if (!api) Fail("device 'cuda' is not available: " + whyNot);
  return *api;
}

std::shared_ptr<void> AllocateDevice(std::size_t bytes, int* device) {
  const CudaApi& api = RequireApi();
  *device = CurrentDevice();
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  Check(api, api.malloc_async(&ptr, bytes, nullptr), "allocating CUDA memory");
  // A deleter cannot report failure; freeing fails only for a pointer the pool did not hand out. The
  // free is ordered after every kernel queued on the default stream, which is where they all run.
  return std::shared_ptr<void>(ptr, [api = &api](void* p) { api->free_async(p, nullptr); });
}

void BindDevice(int device) {
  const CudaApi& api = RequireApi();
  Check(api, api.set_device(device), ("binding CUDA device " + std::to_string(device)).c_str());
}

int CurrentDevice() {
  const CudaApi& api = RequireApi();
  int device = 0;
  Check(api, api.get_device(&device), "current CUDA device");
  return device;
}

void CopyToDevice(void* device, const void* host, std::size_t bytes) {
  const CudaApi& api = RequireApi();
  h2dCount.fetch_add(1, std::memory_order_relaxed);
  h2dBytes.fetch_add(bytes, std::memory_order_relaxed);
  Check(api, api.memcpy_h2d(device, host, bytes, nullptr), "copy to CUDA memory");
  Check(api, api.stream_synchronize(nullptr), "copy to CUDA memory");
}

void CopyToHost(void* host, const void* device, std::size_t bytes) {
  const CudaApi& api = RequireApi();
  d2hCount.fetch_add(1, std::memory_order_relaxed);
  d2hBytes.fetch_add(bytes, std::memory_order_relaxed);
  Check(api, api.memcpy_d2h(host, device, bytes, nullptr), "copy from CUDA memory");
  Check(api, api.stream_synchronize(nullptr), "copy from CUDA memory");
}

TransferCounts Transfers() {
  TransferCounts t;
  t.hostToDevice = h2dCount.load(std::memory_order_relaxed);
  t.hostToDeviceBytes = h2dBytes.load(std::memory_order_relaxed);
  t.deviceToHost = d2hCount.load(std::memory_order_relaxed);
  t.deviceToHostBytes = d2hBytes.load(std::memory_order_relaxed);
  return t;
}

void ResetTransfers() {
  h2dCount.store(0);
  h2dBytes.store(0);
  d2hCount.store(0);
  d2hBytes.store(0);
}

}  // namespace tessera::cuda
