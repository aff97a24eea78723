#include "tensor/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

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
  if (device == Device::Cuda) {
    Fail("CUDA is not available: this addon was built without the CUDA backend (device 'cuda' requested)");
  }
  return AllocateCpu(bytes, zeroed);
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
