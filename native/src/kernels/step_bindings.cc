// JavaScript bindings of step_kernels.h. Argument order mirrors the C++; a trailing `out` is optional and,
// when given, the very same object is returned.
#include <napi.h>

#include "kernels/step_kernels.h"
#include "tensor/tensor_wrap.h"
#include "util/napi_args.h"

namespace tessera {
namespace {

Napi::Value Result(const Napi::CallbackInfo& info, std::size_t outIndex, Tensor result) {
  if (!IsMissing(info[outIndex])) return info[outIndex];
  return TensorWrap::NewInstance(info.Env(), std::move(result));
}

float Float(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  return static_cast<float>(NumberArg(info, i, name));
}

// scaledAdd(x, y, alpha, out?)
Napi::Value ScaledAddFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, ScaledAdd(TensorArg(info, 0, "scaledAdd x"), TensorArg(info, 1, "scaledAdd y"),
                                   Float(info, 2, "scaledAdd alpha"), OptionalTensorArg(info, 3, "out")));
}

// guidanceCombine(uncond, cond, scale, out?)
Napi::Value GuidanceCombineFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, GuidanceCombine(TensorArg(info, 0, "guidanceCombine uncond"), TensorArg(info, 1, "guidanceCombine cond"),
                                         Float(info, 2, "guidanceCombine scale"), OptionalTensorArg(info, 3, "out")));
}

// lseMerge(out, lse, blockOut, blockLse): in place, returns undefined.
Napi::Value LseMergeFn(const Napi::CallbackInfo& info) {
  LseMerge(TensorArg(info, 0, "lseMerge out"), TensorArg(info, 1, "lseMerge lse"), TensorArg(info, 2, "lseMerge block out"),
           TensorArg(info, 3, "lseMerge block lse"));
  return info.Env().Undefined();
}

// timestepSinusoid(timesteps: number[], channels, flipSinToCos, downscaleFreqShift, maxPeriod, device, dtype)
Napi::Value TimestepSinusoidFn(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) FailType("timestepSinusoid timesteps: expected an array of numbers");
  const auto array = info[0].As<Napi::Array>();
  if (array.Length() > 65536) FailType("timestepSinusoid timesteps: more than 65536 values");
  std::vector<float> timesteps(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value v = array.Get(i);
    if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) {
      FailType("timestepSinusoid timesteps[" + std::to_string(i) + "]: expected a finite number");
    }
    timesteps[i] = v.As<Napi::Number>().FloatValue();
  }
  const std::string device = StringArg(info, 5, "device");
  if (device != "cpu" && device != "cuda") FailType("device must be 'cpu' or 'cuda', got '" + device + "'");
  return TensorWrap::NewInstance(
      info.Env(), TimestepSinusoid(timesteps, IntArg(info, 1, "timestepSinusoid channels"), info[2].ToBoolean(),
                                   Float(info, 3, "timestepSinusoid downscaleFreqShift"), Float(info, 4, "timestepSinusoid maxPeriod"),
                                   device == "cuda" ? Device::Cuda : Device::Cpu, ParseDType(StringArg(info, 6, "dtype"))));
}

// layerNormModulate(x, shift, scale, eps, out?)
Napi::Value LayerNormModulateFn(const Napi::CallbackInfo& info) {
  return Result(info, 4, LayerNormModulate(TensorArg(info, 0, "layerNormModulate x"), TensorArg(info, 1, "layerNormModulate shift"),
                                           TensorArg(info, 2, "layerNormModulate scale"), Float(info, 3, "layerNormModulate eps"),
                                           OptionalTensorArg(info, 4, "out")));
}

// rmsNormRope(x, weight?, cos?, sin?, eps, out?, outOffset)
Napi::Value RmsNormRopeFn(const Napi::CallbackInfo& info) {
  return Result(info, 5, RmsNormRope(TensorArg(info, 0, "rmsNormRope x"), OptionalTensorArg(info, 1, "rmsNormRope weight"),
                                     OptionalTensorArg(info, 2, "rmsNormRope cos"), OptionalTensorArg(info, 3, "rmsNormRope sin"),
                                     Float(info, 4, "rmsNormRope eps"), OptionalTensorArg(info, 5, "out"),
                                     IntArg(info, 6, "rmsNormRope outOffset")));
}

// linearGelu(x, w, b?, out?)
Napi::Value LinearGeluFn(const Napi::CallbackInfo& info) {
  return Result(info, 3, LinearGelu(TensorArg(info, 0, "linearGelu x"), TensorArg(info, 1, "linearGelu weight"),
                                    OptionalTensorArg(info, 2, "linearGelu bias"), OptionalTensorArg(info, 3, "out")));
}

}  // namespace

void RegisterStepKernels(Napi::Env env, Napi::Object exports) {
  const auto add = [&](const char* name, Napi::Function fn) { exports.Set(name, fn); };
  add("scaledAdd", Napi::Function::New<Guarded<ScaledAddFn>>(env, "scaledAdd"));
  add("guidanceCombine", Napi::Function::New<Guarded<GuidanceCombineFn>>(env, "guidanceCombine"));
  add("lseMerge", Napi::Function::New<Guarded<LseMergeFn>>(env, "lseMerge"));
  add("timestepSinusoid", Napi::Function::New<Guarded<TimestepSinusoidFn>>(env, "timestepSinusoid"));
  add("layerNormModulate", Napi::Function::New<Guarded<LayerNormModulateFn>>(env, "layerNormModulate"));
  add("rmsNormRope", Napi::Function::New<Guarded<RmsNormRopeFn>>(env, "rmsNormRope"));
  add("linearGelu", Napi::Function::New<Guarded<LinearGeluFn>>(env, "linearGelu"));
}

}  // namespace tessera
