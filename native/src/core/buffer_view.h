// The one seam between the tensor core and the communicators: any module that needs the raw memory
// behind a JavaScript value (a Tensor object or a TypedArray) goes through GetBufferView, so the
// communicators never depend on the tensor class's layout.
#pragma once

#include <cstddef>

#include <napi.h>

namespace tessera {

enum class Device { Cpu, Cuda };

struct BufferView {
  void* data = nullptr;
  std::size_t bytes = 0;
  Device device = Device::Cpu;
  int cudaDevice = -1;  // CUDA ordinal when device == Device::Cuda
};

// Resolves a Tensor object (contiguous storage only) or a TypedArray/ArrayBuffer to its memory.
// Throws Napi::TypeError naming what was passed when the value is neither, or is a non-contiguous view.
// Implemented by the tensor core (native/src/tensor/).
BufferView GetBufferView(const Napi::Value& value);

}  // namespace tessera
