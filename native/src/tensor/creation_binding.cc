// Exports that create tensors or configure the CPU runtime: empty, zeros, fromArray, numThreads,
// setNumThreads.
#include "tensor/creation_binding.h"

#include "tensor/tensor_wrap.h"
#include "util/napi_args.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

Device DeviceArg(const Napi::CallbackInfo& info, std::size_t i) {
  if (IsMissing(info[i])) return Device::Cpu;
  const std::string name = StringArg(info, i, "device");
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  FailType("device must be 'cpu' or 'cuda', got '" + name + "'");
}

DType DTypeArg(const Napi::CallbackInfo& info, std::size_t i, DType fallback) {
  return IsMissing(info[i]) ? fallback : ParseDType(StringArg(info, i, "dtype"));
}

Napi::Value EmptyFn(const Napi::CallbackInfo& info) {
  return TensorWrap::NewInstance(info.Env(), Empty(IntArrayArg(info, 0, "shape"), DTypeArg(info, 1, DType::F32), DeviceArg(info, 2)));
}

Napi::Value ZerosFn(const Napi::CallbackInfo& info) {
  return TensorWrap::NewInstance(info.Env(), Zeros(IntArrayArg(info, 0, "shape"), DTypeArg(info, 1, DType::F32), DeviceArg(info, 2)));
}

// fromArray(typedArray, shape, dtype?): a tensor over the typed array's own memory (no copy). A
// Float32Array is f32; a Uint16Array holds bf16 (default) or f16 bits.
Napi::Value FromArrayFn(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) FailType("fromArray: expected a Float32Array or Uint16Array");
  const auto array = info[0].As<Napi::TypedArray>();
  DType dtype;
  if (array.TypedArrayType() == napi_float32_array) {
    dtype = DTypeArg(info, 2, DType::F32);
    if (dtype != DType::F32) FailType("fromArray: a Float32Array holds f32, not " + std::string(DTypeName(dtype)));
  } else if (array.TypedArrayType() == napi_uint16_array) {
    dtype = DTypeArg(info, 2, DType::BF16);
    if (dtype == DType::F32) FailType("fromArray: a Uint16Array holds bf16 or f16 bits, not f32");
  } else {
    FailType("fromArray: expected a Float32Array (f32) or Uint16Array (bf16/f16)");
  }
  Tensor t;
  t.shape = IntArrayArg(info, 1, "shape");
  for (int64_t d : t.shape) {
    if (d < 0) FailType("fromArray: shape " + ShapeString(t.shape) + " has a negative dimension");
  }
  if (static_cast<std::size_t>(NumElements(t.shape)) != array.ElementLength()) {
    FailType("fromArray: shape " + ShapeString(t.shape) + " needs " + std::to_string(NumElements(t.shape)) +
             " elements, the array has " + std::to_string(array.ElementLength()));
  }
  t.strides = ContiguousStrides(t.shape);
  t.dtype = dtype;
  t.storage = Storage::BorrowArrayBuffer(array.ArrayBuffer(), array.ByteOffset(), array.ByteLength());
  return TensorWrap::NewInstance(info.Env(), std::move(t));
}

Napi::Value NumThreadsFn(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), NumThreads()); }

Napi::Value SetNumThreadsFn(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 0, "threads");
  if (n < 1 || n > 1024) FailType("setNumThreads: threads must be in [1, 1024], got " + std::to_string(n));
  SetNumThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

}  // namespace

void RegisterCreation(Napi::Env env, Napi::Object exports) {
  exports.Set("empty", Napi::Function::New<Guarded<EmptyFn>>(env, "empty"));
  exports.Set("zeros", Napi::Function::New<Guarded<ZerosFn>>(env, "zeros"));
  exports.Set("fromArray", Napi::Function::New<Guarded<FromArrayFn>>(env, "fromArray"));
  exports.Set("numThreads", Napi::Function::New<Guarded<NumThreadsFn>>(env, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New<Guarded<SetNumThreadsFn>>(env, "setNumThreads"));
}

}  // namespace tessera
