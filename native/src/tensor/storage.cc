#include "tensor/storage.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cuda/device_memory.h"
#include "util/errors.h"

namespace tessera {
namespace {

// From this size up (glibc's own initial mmap threshold) a tensor gets its own anonymous mapping, given
// back to the OS when it is released. Through malloc it would not be: glibc raises its threshold to the size
// of each mapped chunk that is freed (up to 32 MiB), after which tensors of that size come from the heap and
// freed ones stay resident. One Flux step of bench:model-memory left ~150 MiB that way (for f32 and bf16
// weights alike) and each further step ~8 MiB more, so a step's peak RSS measured the heap, not the tensors.
constexpr std::size_t kOwnMappingBytes = std::size_t{128} << 10;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Fresh zeroed pages for `bytes`. From 2 MiB up they start on a 2 MiB boundary and are advised as
// transparent huge pages: a step touches hundreds of MiB of new activations, and faulting them in 4 KiB at
// a time cost ~15 % of a bench:model step's CPU time; a whole 2 MiB chunk faults once. Over-mapped by 2 MiB
// and trimmed for the alignment; the tail past the last whole chunk stays in small pages, so the resident
// size stays `bytes`.
void* MapZeroedPages(std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t length = (bytes + page - 1) / page * page;
  const bool huge = length >= kHugePage;
  const std::size_t span = huge ? length + kHugePage : length;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  if (!huge) return raw;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
  const std::size_t head = aligned - start, tail = span - head - length;
  if (head > 0) ::munmap(raw, head);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + length), tail);
  // Advice only: without THP the pages are small ones, which is still correct.
  ::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

std::shared_ptr<Storage> Storage::AllocateCpu(std::size_t bytes, bool zeroed) {
  std::shared_ptr<Storage> s(new Storage());
  if (bytes >= kOwnMappingBytes) {
    s->data_ = MapZeroedPages(bytes);  // already zero
    s->bytes_ = bytes;
    s->owned_ = true;
    s->mapped_ = true;
    return s;
  }
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
  if (mapped_) {
    ::munmap(data_, bytes_);
  } else if (owned_) {
    std::free(data_);
  }
  // A borrowed buffer's reference is released by borrowed_'s destructor (always on the JS thread:
  // tensors are created and dropped only there).
}

}  // namespace tessera
