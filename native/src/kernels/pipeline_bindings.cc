// JavaScript bindings of pipeline_kernels.h and of torch's CPU normal sampling (random/torch_generator.h).
#include "kernels/pipeline_bindings.h"

#include "kernels/pipeline_kernels.h"
#include "random/torch_generator.h"
#include "tensor/tensor_wrap.h"
#include "util/napi_args.h"

namespace tessera {
namespace {

Napi::Value Result(const Napi::CallbackInfo& info, std::size_t outIndex, Tensor result) {
  if (!IsMissing(info[outIndex])) return info[outIndex];
  return TensorWrap::NewInstance(info.Env(), std::move(result));
}

Napi::Value GeluErfFn(const Napi::CallbackInfo& info) {
  return Result(info, 1, GeluErf(TensorArg(info, 0, "geluErf x"), OptionalTensorArg(info, 1, "out")));
}

Napi::Value QuickGeluFn(const Napi::CallbackInfo& info) {
  return Result(info, 1, QuickGelu(TensorArg(info, 0, "quickGelu x"), OptionalTensorArg(info, 1, "out")));
}

Napi::Value GroupNormStatsFn(const Napi::CallbackInfo& info) {
  return TensorWrap::NewInstance(info.Env(),
                                 GroupNormStats(TensorArg(info, 0, "groupNormStats x"), IntArg(info, 1, "groups")));
}

Napi::Value GroupNormApplyFn(const Napi::CallbackInfo& info) {
  return Result(info, 6,
                GroupNormApply(TensorArg(info, 0, "groupNormApply x"), IntArg(info, 1, "groups"),
                               TensorArg(info, 2, "groupNormApply mean"), TensorArg(info, 3, "groupNormApply rstd"),
                               OptionalTensorArg(info, 4, "groupNormApply weight"),
                               OptionalTensorArg(info, 5, "groupNormApply bias"), OptionalTensorArg(info, 6, "out")));
}

TorchNormalPath PathArg(const Napi::CallbackInfo& info, std::size_t i) {
  if (IsMissing(info[i])) return DetectTorchNormalPath();
  const std::string path = StringArg(info, i, "torchRandn path");
  if (path == "avx2") return TorchNormalPath::Avx2;
  if (path == "scalar") return TorchNormalPath::Scalar;
  FailType("torchRandn path: expected 'avx2' or 'scalar', got '" + path + "'");
}

// torchRandn(seed, shape, dtype = 'f32', path = as torch on this CPU) → a new CPU tensor.
Napi::Value TorchRandnFn(const Napi::CallbackInfo& info) {
  const int64_t seed = IntArg(info, 0, "torchRandn seed");
  if (seed < 0) FailType("torchRandn seed: must be a non-negative integer");
  const Shape shape = IntArrayArg(info, 1, "torchRandn shape");
  for (const int64_t d : shape) {
    if (d < 0) FailType("torchRandn shape: sizes must be non-negative, got " + ShapeString(shape));
  }
  const DType dtype = IsMissing(info[2]) ? DType::F32 : ParseDType(StringArg(info, 2, "torchRandn dtype"));
  const TorchNormalPath path = PathArg(info, 3);
  TorchCpuGenerator generator(static_cast<uint64_t>(seed));
  Tensor out = Empty(shape, dtype);
  if (dtype == DType::F32) {
    TorchRandnF32(generator, out.Numel(), path, out.F32());
  } else {
    TorchRandn16(generator, out.Numel(), dtype == DType::BF16 ? NoiseDType::BF16 : NoiseDType::F16, path,
                 static_cast<uint16_t*>(out.Raw()));
  }
  return TensorWrap::NewInstance(info.Env(), std::move(out));
}

Napi::Value TorchNormalPathFn(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DetectTorchNormalPath() == TorchNormalPath::Avx2 ? "avx2" : "scalar");
}

}  // namespace

void RegisterPipelineKernels(Napi::Env env, Napi::Object exports) {
  const auto add = [&](const char* name, Napi::Function fn) { exports.Set(name, fn); };
  add("geluErf", Napi::Function::New<Guarded<GeluErfFn>>(env, "geluErf"));
  add("quickGelu", Napi::Function::New<Guarded<QuickGeluFn>>(env, "quickGelu"));
  add("groupNormStats", Napi::Function::New<Guarded<GroupNormStatsFn>>(env, "groupNormStats"));
  add("groupNormApply", Napi::Function::New<Guarded<GroupNormApplyFn>>(env, "groupNormApply"));
  add("torchRandn", Napi::Function::New<Guarded<TorchRandnFn>>(env, "torchRandn"));
  add("torchNormalPath", Napi::Function::New<Guarded<TorchNormalPathFn>>(env, "torchNormalPath"));
}

}  // namespace tessera
