// The memory behind tensors: one allocation, shared by every view of it (shared_ptr). CPU memory is
// either owned (64-byte aligned; from 128 KiB up its own mapping, see storage.cc) or borrowed from a JavaScript ArrayBuffer that the storage keeps alive.
#pragma once

#include <napi.h>

#include <cstddef>
#include <memory>

#include "core/buffer_view.h"

namespace tessera {

class Storage {
 public:
  // Owned CPU memory, uninitialised unless zeroed.
  static std::shared_ptr<Storage> AllocateCpu(std::size_t bytes, bool zeroed);
  // Borrows a JS ArrayBuffer's memory; holds a reference to it so it cannot be collected.
  static std::shared_ptr<Storage> BorrowArrayBuffer(Napi::ArrayBuffer buffer, std::size_t byteOffset,
                                                    std::size_t bytes);
  // Device memory through the CUDA backend (native/src/cuda); throws "device 'cuda' is not available: …"
  // naming the reason when the backend, driver or device is missing.
  static std::shared_ptr<Storage> AllocateCuda(std::size_t bytes, bool zeroed);
  static std::shared_ptr<Storage> Allocate(Device device, std::size_t bytes, bool zeroed);

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* Data() const { return data_; }
  std::size_t Bytes() const { return bytes_; }
  Device GetDevice() const { return device_; }
  // The CUDA ordinal the memory lives on (the thread's current device at allocation); -1 on the CPU.
  int CudaDevice() const { return cudaDevice_; }
  bool Owned() const { return owned_; }
  bool Borrowed() const { return !borrowed_.IsEmpty(); }
  Napi::ArrayBuffer BorrowedBuffer() const { return borrowed_.Value(); }
  std::size_t BorrowedOffset() const { return borrowedOffset_; }
  // Tells V8 about owned memory once, so the garbage collector collects tensor wrappers in time; the
  // destructor takes it back.
  void ReportExternal(napi_env env);

 private:
  Storage() = default;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_ = Device::Cpu;
  bool owned_ = false;
  bool mapped_ = false;  // owned memory from mmap, not malloc
  Napi::Reference<Napi::ArrayBuffer> borrowed_;
  std::size_t borrowedOffset_ = 0;
  std::shared_ptr<void> deviceMemory_;  // frees the CUDA allocation with the storage
  int cudaDevice_ = -1;
  napi_env reportedTo_ = nullptr;
};

}  // namespace tessera
