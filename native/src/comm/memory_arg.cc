#include "comm/memory_arg.h"

#include <string>

#include "core/buffer_view.h"
#include "util/errors.h"

namespace tessera {
// Weak: the tensor core defines it; until it is linked in, only TypedArrays and ArrayBuffers resolve.
BufferView GetBufferView(const Napi::Value& value) __attribute__((weak));
}  // namespace tessera

namespace tessera::comm {

Memory ResolveMemory(const Napi::Value& value, const char* what) {
  Memory m;
  if (value.IsTypedArray()) {
    Napi::TypedArray ta = value.As<Napi::TypedArray>();
    m.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    m.bytes = ta.ByteLength();
  } else if (value.IsDataView()) {
    Napi::DataView dv = value.As<Napi::DataView>();
    m.data = static_cast<uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    m.bytes = dv.ByteLength();
  } else if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = value.As<Napi::ArrayBuffer>();
    m.data = ab.Data();
    m.bytes = ab.ByteLength();
  } else if (value.IsObject() && GetBufferView != nullptr) {
    const BufferView view = GetBufferView(value);
    m.data = view.data;
    m.bytes = view.bytes;
    m.onDevice = view.device == Device::Cuda;
    m.cudaDevice = view.cudaDevice;
  } else {
    FailType(std::string(what) + " must be a TypedArray, ArrayBuffer, DataView or Tensor");
  }
  if (m.data == nullptr && m.bytes > 0) FailType(std::string(what) + " has no memory (detached buffer?)");
  return m;
}

}  // namespace tessera::comm
