// GetBufferView: the seam the communicators use to reach a tensor's or typed array's memory.
#include "core/buffer_view.h"

#include "tensor/tensor_wrap.h"
#include "util/errors.h"

namespace tessera {

BufferView GetBufferView(const Napi::Value& value) {
  Napi::Env env = value.Env();
  return CallGuarded(env, [&]() -> BufferView {
    BufferView view;
    if (value.IsTypedArray()) {
      const auto array = value.As<Napi::TypedArray>();
      view.data = static_cast<char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
      view.bytes = array.ByteLength();
      return view;
    }
    if (value.IsArrayBuffer()) {
      auto buffer = value.As<Napi::ArrayBuffer>();
      view.data = buffer.Data();
      view.bytes = buffer.ByteLength();
      return view;
    }
    if (value.IsObject() && (TensorWrap::Is(env, value) || value.As<Napi::Object>().Has("handle"))) {
      const Tensor& t = TensorWrap::From(env, value, "buffer");
      if (!t.IsContiguous()) FailType("buffer: tensor " + t.Describe() + " is a strided view; call contiguous() first");
      view.data = t.Raw();
      view.bytes = static_cast<std::size_t>(t.Numel()) * DTypeSize(t.dtype);
      view.device = t.GetDevice();
      view.cudaDevice = t.storage->CudaDevice();
      return view;
    }
    FailType(std::string("buffer: expected a Tensor, TypedArray or ArrayBuffer, got ") +
             (value.IsArray() ? "an Array" : value.IsObject() ? "an object" : value.IsString() ? "a string" : "a primitive"));
  });
}

}  // namespace tessera
