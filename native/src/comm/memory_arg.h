// Resolves a JavaScript value (TypedArray, ArrayBuffer, DataView, or a native Tensor through the tensor
// core's GetBufferView seam) to the memory a communicator operation reads or writes.
#pragma once

#include <napi.h>

#include "comm/communicator.h"

namespace tessera::comm {

// Throws tessera::Error (TypeError) naming `what` when the value holds no usable memory.
Memory ResolveMemory(const Napi::Value& value, const char* what);

}  // namespace tessera::comm
