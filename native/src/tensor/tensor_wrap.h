// The JavaScript face of a Tensor: a wrapped object owning one reference to the storage. release()
// drops it at once; the garbage collector's finalizer drops it otherwise. Views are separate objects
// sharing the storage, so releasing one never invalidates another.
#pragma once

#include <napi.h>

#include "tensor/tensor.h"

namespace tessera {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports);
  static Napi::Object NewInstance(Napi::Env env, Tensor tensor);
  // Resolves a native tensor object, or an object whose `handle` property is one (the TS Tensor class).
  // Throws a TypeError naming `what` otherwise, or when the tensor was released.
  static const Tensor& From(Napi::Env env, const Napi::Value& value, const std::string& what);
  static bool Is(Napi::Env env, const Napi::Value& value);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  const Tensor& Get() const { return tensor_; }

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Strides(const Napi::CallbackInfo& info);
  Napi::Value DTypeGetter(const Napi::CallbackInfo& info);
  Napi::Value DeviceGetter(const Napi::CallbackInfo& info);
  Napi::Value Offset(const Napi::CallbackInfo& info);
  Napi::Value IsContiguous(const Napi::CallbackInfo& info);
  Napi::Value Released(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Narrow(const Napi::CallbackInfo& info);
  Napi::Value Permute(const Napi::CallbackInfo& info);
  Napi::Value View(const Napi::CallbackInfo& info);
  Napi::Value Contiguous(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value ToDevice(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value CopyFrom(const Napi::CallbackInfo& info);
  Napi::Value SharesStorage(const Napi::CallbackInfo& info);

  const Tensor& Live() const;  // throws when released
  Tensor tensor_;
};

// Argument helpers for the kernel bindings.
inline const Tensor& TensorArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  return TensorWrap::From(info.Env(), info[i], name);
}
const Tensor* OptionalTensorArg(const Napi::CallbackInfo& info, std::size_t i, const char* name);

}  // namespace tessera
