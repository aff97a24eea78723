// JavaScript bindings of the CPU kernels. Argument order mirrors kernels.h; the trailing `out` argument
// is optional everywhere, and when given the very same object is returned.
#include "kernels/bindings.h"

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/openblas.h"
#include "kernels/kernels.h"
#include "tensor/tensor_wrap.h"
#include "util/cpu_features.h"
#include "util/napi_args.h"

namespace tessera {
namespace {

Napi::Value Result(const Napi::CallbackInfo& info, std::size_t outIndex, Tensor result) {
  if (!IsMissing(info[outIndex])) return info[outIndex];
  return TensorWrap::NewInstance(info.Env(), std::move(result));
}

float FloatArg(const Napi::CallbackInfo& info, std::size_t i, const char* name, float fallback) {
  return IsMissing(info[i]) ? fallback : static_cast<float>(NumberArg(info, i, name));
}

Napi::Value LinearFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, Linear(TensorArg(info, 0, "linear x"), TensorArg(info, 1, "linear weight"),
                                OptionalTensorArg(info, 2, "linear bias"), OptionalTensorArg(info, 3, "out")));
}

Napi::Value MatmulFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, Matmul(TensorArg(info, 0, "matmul a"), TensorArg(info, 1, "matmul b"), info[2].ToBoolean(),
                                OptionalTensorArg(info, 3, "out")));
}

Napi::Value LayerNormFn(const Napi::CallbackInfo& info) {
  return Result(info, 4, LayerNorm(TensorArg(info, 0, "layerNorm x"), OptionalTensorArg(info, 1, "layerNorm weight"),
                                   OptionalTensorArg(info, 2, "layerNorm bias"), FloatArg(info, 3, "eps", 1e-5f),
                                   OptionalTensorArg(info, 4, "out")));
}

Napi::Value RmsNormFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, RmsNorm(TensorArg(info, 0, "rmsNorm x"), OptionalTensorArg(info, 1, "rmsNorm weight"),
                                 FloatArg(info, 2, "eps", 1e-6f), OptionalTensorArg(info, 3, "out")));
}

Napi::Value GroupNormFn(const Napi::CallbackInfo& info) {
  return Result(info, 5, GroupNorm(TensorArg(info, 0, "groupNorm x"), IntArg(info, 1, "groups"),
                                   OptionalTensorArg(info, 2, "groupNorm weight"), OptionalTensorArg(info, 3, "groupNorm bias"),
                                   FloatArg(info, 4, "eps", 1e-6f), OptionalTensorArg(info, 5, "out")));
}

Napi::Value GeluFn(const Napi::CallbackInfo& info) {
  return Result(info, 1, GeluTanh(TensorArg(info, 0, "gelu x"), OptionalTensorArg(info, 1, "out")));
}

Napi::Value SiluFn(const Napi::CallbackInfo& info) {
  return Result(info, 1, Silu(TensorArg(info, 0, "silu x"), OptionalTensorArg(info, 1, "out")));
}

Napi::Value SoftmaxFn(const Napi::CallbackInfo& info) {
  return Result(info, 1, Softmax(TensorArg(info, 0, "softmax x"), OptionalTensorArg(info, 1, "out")));
}

Napi::Value AttentionFn(const Napi::CallbackInfo& info) {
  return Result(info, 4, Attention(TensorArg(info, 0, "attention q"), TensorArg(info, 1, "attention k"),
                                   TensorArg(info, 2, "attention v"), static_cast<float>(NumberArg(info, 3, "attention scale")),
                                   OptionalTensorArg(info, 4, "out"), OptionalTensorArg(info, 5, "lse")));
}

Napi::Value RopeFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, Rope(TensorArg(info, 0, "rope x"), TensorArg(info, 1, "rope cos"), TensorArg(info, 2, "rope sin"),
                              OptionalTensorArg(info, 3, "out")));
}

Napi::Value ModulateFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, Modulate(TensorArg(info, 0, "modulate x"), TensorArg(info, 1, "modulate shift"),
                                  TensorArg(info, 2, "modulate scale"), OptionalTensorArg(info, 3, "out")));
}

Napi::Value GatedResidualFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, GatedResidual(TensorArg(info, 0, "gatedResidual x"), TensorArg(info, 1, "gatedResidual gate"),
                                       TensorArg(info, 2, "gatedResidual y"), OptionalTensorArg(info, 3, "out")));
}

template <BinaryOp Op>
Napi::Value BinaryFn(const Napi::CallbackInfo& info) {
  return Result(info, 2, Binary(Op, TensorArg(info, 0, "a"), TensorArg(info, 1, "b"), OptionalTensorArg(info, 2, "out")));
}

Napi::Value AffineFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, Affine(TensorArg(info, 0, "affine x"), static_cast<float>(NumberArg(info, 1, "affine mul")),
                                static_cast<float>(NumberArg(info, 2, "affine add")), OptionalTensorArg(info, 3, "out")));
}

Napi::Value ConcatFn(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) FailType("concat: expected an array of tensors");
  const auto array = info[0].As<Napi::Array>();
  std::vector<Tensor> parts;
  parts.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    parts.push_back(TensorWrap::From(info.Env(), array.Get(i), "concat part " + std::to_string(i)));
  }
  return TensorWrap::NewInstance(info.Env(), Concat(parts, IntArg(info, 1, "concat axis")));
}

Napi::Value Conv2dFn(const Napi::CallbackInfo& info) {
  return Result(info, 7, Conv2d(TensorArg(info, 0, "conv2d x"), TensorArg(info, 1, "conv2d weight"),
                                OptionalTensorArg(info, 2, "conv2d bias"), IntArg(info, 3, "strideH"), IntArg(info, 4, "strideW"),
                                IntArg(info, 5, "padH"), IntArg(info, 6, "padW"), OptionalTensorArg(info, 7, "out")));
}

Napi::Value UpsampleNearestFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, UpsampleNearest(TensorArg(info, 0, "upsampleNearest x"), IntArg(info, 1, "factorH"),
                                         IntArg(info, 2, "factorW"), OptionalTensorArg(info, 3, "out")));
}

Napi::Array StringArray(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array array = Napi::Array::New(env, items.size());
  for (uint32_t i = 0; i < items.size(); ++i) array.Set(i, Napi::String::New(env, items[i]));
  return array;
}

// What the dispatcher chose and why, with the CPU's features (makes the choice on first call).
Napi::Value CpuKernelsFn(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const cpu::Dispatch& d = cpu::ActiveDispatch();
  const CpuFeatures& f = DetectCpuFeatures();
  Napi::Object result = Napi::Object::New(env);
  result.Set("kernel", d.name);
  result.Set("reason", d.reason);
  result.Set("microTile", std::to_string(d.kernels->mr) + "x" + std::to_string(d.kernels->nr) + " (" +
                              d.kernels->name + ")");
  result.Set("runnable", StringArray(env, d.runnable));
  result.Set("unavailable", StringArray(env, d.unavailable));
  Napi::Object cpuInfo = Napi::Object::New(env);
  cpuInfo.Set("vendor", f.vendor);
  cpuInfo.Set("brand", f.brand);
  cpuInfo.Set("family", f.family);
  cpuInfo.Set("model", f.model);
  cpuInfo.Set("features", f.List());
  result.Set("cpu", cpuInfo);
  if (const cpu::OpenBlas* blas = cpu::LoadedOpenBlas()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("core", blas->core);
    o.Set("requested", blas->requested);
    o.Set("cpuidCore", blas->cpuidCore);
    o.Set("config", blas->config);
    result.Set("openblas", o);
  }
  return result;
}

// The weight dtypes the CPU's GEMMs compute with directly (the model loader keeps weights in them instead
// of converting to f32 at load): our kernels widen bf16/f16 panels while packing; OpenBLAS would need an
// f32 copy per call. Other devices answer for themselves (undefined here: the loader's defaults apply).
Napi::Value BackendCapabilitiesFn(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsString() || info[0].As<Napi::String>().Utf8Value() != "cpu") return env.Undefined();
  const bool widens = !cpu::ActiveDispatch().openblas;
  Napi::Object result = Napi::Object::New(env);
  result.Set("weightDtypes", StringArray(env, widens ? std::vector<std::string>{"f32", "bf16", "f16"}
                                                     : std::vector<std::string>{"f32"}));
  return result;
}

Napi::Value GemmCeilingFn(const Napi::CallbackInfo& info) {
  const double seconds = IsMissing(info[0]) ? 0.5 : NumberArg(info, 0, "gemmCeiling seconds");
  if (!(seconds > 0 && seconds <= 60)) FailType("gemmCeiling: seconds must be in (0, 60]");
  return Napi::Number::New(info.Env(), cpu::MeasureCeiling(seconds));
}

}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  const auto add = [&](const char* name, Napi::Function fn) { exports.Set(name, fn); };
  add("linear", Napi::Function::New<Guarded<LinearFn>>(env, "linear"));
  add("matmul", Napi::Function::New<Guarded<MatmulFn>>(env, "matmul"));
  add("layerNorm", Napi::Function::New<Guarded<LayerNormFn>>(env, "layerNorm"));
  add("rmsNorm", Napi::Function::New<Guarded<RmsNormFn>>(env, "rmsNorm"));
  add("groupNorm", Napi::Function::New<Guarded<GroupNormFn>>(env, "groupNorm"));
  add("gelu", Napi::Function::New<Guarded<GeluFn>>(env, "gelu"));
  add("silu", Napi::Function::New<Guarded<SiluFn>>(env, "silu"));
  add("softmax", Napi::Function::New<Guarded<SoftmaxFn>>(env, "softmax"));
  add("attention", Napi::Function::New<Guarded<AttentionFn>>(env, "attention"));
  add("rope", Napi::Function::New<Guarded<RopeFn>>(env, "rope"));
  add("modulate", Napi::Function::New<Guarded<ModulateFn>>(env, "modulate"));
  add("gatedResidual", Napi::Function::New<Guarded<GatedResidualFn>>(env, "gatedResidual"));
  add("add", Napi::Function::New<Guarded<BinaryFn<BinaryOp::Add>>>(env, "add"));
  add("sub", Napi::Function::New<Guarded<BinaryFn<BinaryOp::Sub>>>(env, "sub"));
  add("mul", Napi::Function::New<Guarded<BinaryFn<BinaryOp::Mul>>>(env, "mul"));
  add("div", Napi::Function::New<Guarded<BinaryFn<BinaryOp::Div>>>(env, "div"));
  add("affine", Napi::Function::New<Guarded<AffineFn>>(env, "affine"));
  add("concat", Napi::Function::New<Guarded<ConcatFn>>(env, "concat"));
  add("conv2d", Napi::Function::New<Guarded<Conv2dFn>>(env, "conv2d"));
  add("cpuKernels", Napi::Function::New<Guarded<CpuKernelsFn>>(env, "cpuKernels"));
  add("gemmCeiling", Napi::Function::New<Guarded<GemmCeilingFn>>(env, "gemmCeiling"));
  add("backendCapabilities", Napi::Function::New<Guarded<BackendCapabilitiesFn>>(env, "backendCapabilities"));
  add("upsampleNearest", Napi::Function::New<Guarded<UpsampleNearestFn>>(env, "upsampleNearest"));
}

}  // namespace tessera
