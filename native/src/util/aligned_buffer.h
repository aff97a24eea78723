// A growable scratch buffer of floats aligned to a cache line, reused across calls (kernels keep one per
// thread) so that packing and attention tiles allocate only when a larger problem comes along.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace tessera {

class AlignedFloats {
 public:
  float* Get(std::size_t count) {
    if (count > capacity_) {
      const std::size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
      void* p = std::aligned_alloc(64, bytes);
      if (p == nullptr) throw std::bad_alloc();
      data_.reset(static_cast<float*>(p));
      capacity_ = count;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  std::size_t capacity_ = 0;
};

}  // namespace tessera
