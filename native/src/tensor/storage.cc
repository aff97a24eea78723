#include "tensor/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cuda/device_memory.h"
#include "util/errors.h"

namespace tessera {

std::shared_ptr<Storage> Storage::AllocateCpu(std::size_t bytes, bool zeroed) {
  std::shared_ptr<Storage> s(new Storage());
  // aligned_alloc needs a size that is a multiple of the alignment; never ask for 0 bytes.
  const std::size_t rounded = ((bytes + 63) / 64) * 64;
  void* data = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (data == nullptr) throw std::bad_alloc();
  if (zeroed) std::memset(data, 0, rounded == 0 ? 64 : rounded);
  s->data_ = data;
  s->bytes_ = bytes;
  s->owned_ = true;
  return s;
}

std::shared_ptr<Storage> Storage::BorrowArrayBuffer(Napi::ArrayBuffer buffer, std::size_t byteOffset,
                                                    std::size_t bytes) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = static_cast<char*>(buffer.Data()) + byteOffset;
  s->borrowedOffset_ = byteOffset;
  s->bytes_ = bytes;
  s->borrowed_ = Napi::Persistent(buffer);
  return s;
}

std::shared_ptr<Storage> Storage::Allocate(Device device, std::size_t bytes, bool zeroed) {
  return device == Device::Cuda ? AllocateCuda(bytes, zeroed) : AllocateCpu(bytes, zeroed);
}

std::shared_ptr<Storage> Storage::AllocateCuda(std::size_t bytes, bool zeroed) {
  std::shared_ptr<Storage> s(new Storage());
  s->deviceMemory_ = cuda::AllocateDevice(bytes, &s->cudaDevice_);
  s->data_ = s->deviceMemory_.get();
  s->bytes_ = bytes;
  s->device_ = Device::Cuda;
  if (zeroed && bytes > 0) {
    const cuda::CudaApi& api = cuda::RequireApi();
    cuda::Check(api, api.memset_zero(s->data_, bytes, nullptr), "zeroing CUDA memory");
  }
  return s;
}

void Storage::ReportExternal(napi_env env) {
  if (!owned_ || reportedTo_ != nullptr) return;
  int64_t ignored = 0;
  if (napi_adjust_external_memory(env, static_cast<int64_t>(bytes_), &ignored) == napi_ok) reportedTo_ = env;
}

Storage::~Storage() {
  if (reportedTo_ != nullptr) {
    int64_t ignored = 0;
    napi_adjust_external_memory(reportedTo_, -static_cast<int64_t>(bytes_), &ignored);
  }
  if (owned_) std::free(data_);
  // A borrowed buffer's reference is released by borrowed_'s destructor (always on the JS thread:
  // tensors are created and dropped only there).
}

}  // namespace tessera
