// Device memory for the tensor core's 'cuda' storage: allocation with an owning handle, and blocking
// copies between host and device. Every function throws tessera::Error naming why CUDA cannot be used
// ("device 'cuda' is not available: no CUDA driver …") instead of returning a null pointer.
#pragma once

#include <cstddef>
#include <memory>

#include "cuda/cuda_api.h"

namespace tessera::cuda {

// The loaded backend; throws tessera::Error("device 'cuda' is not available: <reason>") otherwise.
const CudaApi& RequireApi();

// `bytes` of memory on the current device (device 0 unless set_device was called on this thread),
// freed when the last owner goes away. Zero bytes gives an empty handle.
std::shared_ptr<void> AllocateDevice(std::size_t bytes);

// Blocking copies on the default stream; they also surface errors of kernels queued before them.
void CopyToDevice(void* device, const void* host, std::size_t bytes);
void CopyToHost(void* host, const void* device, std::size_t bytes);

}  // namespace tessera::cuda
