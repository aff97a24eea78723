// Device memory for the tensor core's 'cuda' storage: allocation with an owning handle, blocking copies
// between host and device, and the count of those copies. Every function throws tessera::Error naming
// why CUDA cannot be used ("device 'cuda' is not available: no CUDA driver …") instead of returning a
// null pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "cuda/cuda_api.h"

namespace tessera::cuda {

// The loaded backend; throws tessera::Error("device 'cuda' is not available: <reason>") otherwise.
const CudaApi& RequireApi();

// `bytes` of memory on the calling thread's current device (BindDevice), stream-ordered on the default
// stream from the device's pool, freed the same way when the last owner goes away. Zero bytes gives an
// empty handle. *device receives the ordinal.
std::shared_ptr<void> AllocateDevice(std::size_t bytes, int* device);

// Makes `device` current for the calling thread (the JavaScript thread launches every kernel).
void BindDevice(int device);
int CurrentDevice();

// Blocking copies on the default stream; they also surface errors of kernels queued before them. Each
// one is counted (TransferCounts): the denoising loop promises a fixed number per step, and a test holds
// it to that.
void CopyToDevice(void* device, const void* host, std::size_t bytes);
void CopyToHost(void* host, const void* device, std::size_t bytes);

struct TransferCounts {
  uint64_t hostToDevice = 0, hostToDeviceBytes = 0;
  uint64_t deviceToHost = 0, deviceToHostBytes = 0;
};
TransferCounts Transfers();
void ResetTransfers();

}  // namespace tessera::cuda
