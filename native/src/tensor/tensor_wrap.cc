#include "tensor/tensor_wrap.h"

#include <mutex>
#include <unordered_map>

#include "kernels/cuda_dispatch.h"
#include "util/errors.h"
#include "util/napi_args.h"

namespace tessera {
namespace {

// The Tensor constructor per Node environment (main thread and each worker thread load the addon once).
std::mutex registryMutex;
std::unordered_map<napi_env, Napi::FunctionReference*> constructors;

Napi::FunctionReference& Constructor(Napi::Env env) {
  std::lock_guard<std::mutex> lock(registryMutex);
  auto it = constructors.find(env);
  if (it == constructors.end()) throw Error("tessera native: Tensor class is not registered in this environment");
  return *it->second;
}

// Passed as the constructor's argument by NewInstance; JavaScript code cannot produce it.
int internalToken = 0;

}  // namespace

void TensorWrap::Register(Napi::Env env, Napi::Object exports) {
#define TESSERA_M(name, fn) \
  InstanceMethod<&TensorWrap::fn>(name)
#define TESSERA_G(name, fn) \
  InstanceAccessor<&TensorWrap::fn>(name)
  Napi::Function ctor = DefineClass(
      env, "NativeTensor",
      {TESSERA_G("shape", Shape), TESSERA_G("strides", Strides), TESSERA_G("dtype", DTypeGetter),
       TESSERA_G("device", DeviceGetter), TESSERA_G("offset", Offset), TESSERA_G("isContiguous", IsContiguous),
       TESSERA_G("released", Released), TESSERA_M("release", Release), TESSERA_M("data", Data),
       TESSERA_M("narrow", Narrow), TESSERA_M("permute", Permute), TESSERA_M("view", View),
       TESSERA_M("contiguous", Contiguous), TESSERA_M("to", To), TESSERA_M("toDevice", ToDevice), TESSERA_M("clone", Clone),
       TESSERA_M("copyFrom", CopyFrom), TESSERA_M("sharesStorage", SharesStorage)});
#undef TESSERA_M
#undef TESSERA_G
  auto* ref = new Napi::FunctionReference(Napi::Persistent(ctor));
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    constructors[env] = ref;
  }
  napi_env raw = env;
  env.AddCleanupHook([raw, ref] {
    std::lock_guard<std::mutex> lock(registryMutex);
    constructors.erase(raw);
    delete ref;
  });
  exports.Set("NativeTensor", ctor);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  const bool internal = info.Length() == 1 && info[0].IsExternal() &&
                        info[0].As<Napi::External<int>>().Data() == &internalToken;
  if (!internal) {
    throw Napi::TypeError::New(info.Env(), "NativeTensor cannot be constructed directly: use empty, zeros or fromArray");
  }
}

Napi::Object TensorWrap::NewInstance(Napi::Env env, Tensor tensor) {
  Napi::Object obj = Constructor(env).New({Napi::External<int>::New(env, &internalToken)});
  TensorWrap* wrap = Napi::ObjectWrap<TensorWrap>::Unwrap(obj);
  if (tensor.storage) tensor.storage->ReportExternal(env);
  wrap->tensor_ = std::move(tensor);
  return obj;
}

bool TensorWrap::Is(Napi::Env env, const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(Constructor(env).Value());
}

const Tensor& TensorWrap::From(Napi::Env env, const Napi::Value& value, const std::string& what) {
  Napi::Value candidate = value;
  if (value.IsObject() && !Is(env, value)) candidate = value.As<Napi::Object>().Get("handle");
  if (!Is(env, candidate)) FailType(what + ": expected a Tensor");
  return Napi::ObjectWrap<TensorWrap>::Unwrap(candidate.As<Napi::Object>())->Live();
}

const Tensor* OptionalTensorArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (IsMissing(info[i])) return nullptr;
  return &TensorArg(info, i, name);
}

const Tensor& TensorWrap::Live() const {
  if (!tensor_.storage) FailType("tensor " + tensor_.Describe() + " has been released");
  return tensor_;
}

namespace {

Napi::Array ToArray(Napi::Env env, const tessera::Shape& values) {
  Napi::Array a = Napi::Array::New(env, values.size());
  for (uint32_t i = 0; i < values.size(); ++i) a.Set(i, Napi::Number::New(env, static_cast<double>(values[i])));
  return a;
}

}  // namespace

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) { return ToArray(info.Env(), tensor_.shape); }
Napi::Value TensorWrap::Strides(const Napi::CallbackInfo& info) { return ToArray(info.Env(), tensor_.strides); }
Napi::Value TensorWrap::DTypeGetter(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DTypeName(tensor_.dtype));
}
Napi::Value TensorWrap::DeviceGetter(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tensor_.GetDevice() == Device::Cuda ? "cuda" : "cpu");
}
Napi::Value TensorWrap::Offset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tensor_.offset));
}
Napi::Value TensorWrap::IsContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tensor_.IsContiguous());
}
Napi::Value TensorWrap::Released(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.storage);
}

Napi::Value TensorWrap::Release(const Napi::CallbackInfo& info) {
  tensor_.storage.reset();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::Data(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    const Tensor& t = Live();
    RequireCpu(t, "data()");
    if (!t.IsContiguous()) FailType("data(): tensor " + t.Describe() + " is a strided view; call contiguous() first");
    Napi::Env env = info.Env();
    const std::size_t elem = DTypeSize(t.dtype);
    const std::size_t count = static_cast<std::size_t>(t.Numel());
    Napi::ArrayBuffer buffer;
    std::size_t byteOffset = static_cast<std::size_t>(t.offset) * elem;
    if (t.storage->Borrowed()) {
      buffer = t.storage->BorrowedBuffer();
      byteOffset += t.storage->BorrowedOffset();
    } else {
      // The ArrayBuffer keeps the storage alive through a heap-held shared_ptr its finalizer deletes.
      auto* keep = new std::shared_ptr<Storage>(t.storage);
      buffer = Napi::ArrayBuffer::New(env, t.storage->Data(), t.storage->Bytes(),
                                      [](Napi::Env, void*, std::shared_ptr<Storage>* hint) { delete hint; }, keep);
    }
    if (t.dtype == DType::F32) return Napi::Float32Array::New(env, count, buffer, byteOffset);
    return Napi::Uint16Array::New(env, count, buffer, byteOffset);
  });
}

Napi::Value TensorWrap::Narrow(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    return NewInstance(info.Env(), tessera::Narrow(Live(), IntArg(info, 0, "narrow axis"), IntArg(info, 1, "narrow start"),
                                                   IntArg(info, 2, "narrow length")));
  });
}

Napi::Value TensorWrap::Permute(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    return NewInstance(info.Env(), tessera::Permute(Live(), IntArrayArg(info, 0, "permute order")));
  });
}

Napi::Value TensorWrap::View(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    return NewInstance(info.Env(), ViewAs(Live(), IntArrayArg(info, 0, "reshape shape")));
  });
}

Napi::Value TensorWrap::Contiguous(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    const Tensor& t = Live();
    if (t.IsContiguous()) return info.This();
    return NewInstance(info.Env(), tessera::Contiguous(t));
  });
}

Napi::Value TensorWrap::To(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    const Tensor& t = Live();
    const DType dtype = ParseDType(StringArg(info, 0, "dtype"));
    if (t.dtype == dtype && t.IsContiguous()) return info.This();
    return NewInstance(info.Env(), ToDType(t, dtype));
  });
}

Napi::Value TensorWrap::ToDevice(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    const Tensor& t = Live();
    const std::string name = StringArg(info, 0, "device");
    if (name != "cpu" && name != "cuda") FailType("device must be 'cpu' or 'cuda', got '" + name + "'");
    const Device device = name == "cuda" ? Device::Cuda : Device::Cpu;
    if (t.GetDevice() == device && t.IsContiguous()) return info.This();
    return NewInstance(info.Env(), gpu::ToDevice(t, device));
  });
}

Napi::Value TensorWrap::Clone(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    const Tensor& t = Live();
    Tensor copy = Empty(t.shape, t.dtype, t.GetDevice());
    CopyInto(t, copy);
    return NewInstance(info.Env(), std::move(copy));
  });
}

Napi::Value TensorWrap::CopyFrom(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    CopyInto(TensorArg(info, 0, "copyFrom source"), Live());
    return info.This();
  });
}

Napi::Value TensorWrap::SharesStorage(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), TensorArg(info, 0, "sharesStorage other").storage == Live().storage);
  });
}

}  // namespace tessera
