// InitTensor: registers everything the CPU core exports (see register.h).
#include "kernels/bindings.h"
#include "kernels/pipeline_bindings.h"
#include "kernels/step_kernels.h"
#include "register.h"
#include "safetensors/reader_binding.h"
#include "tensor/creation_binding.h"
#include "tensor/tensor_wrap.h"

namespace tessera {

void InitTensor(Napi::Env env, Napi::Object exports) {
  TensorWrap::Register(env, exports);
  RegisterCreation(env, exports);
  RegisterKernels(env, exports);
  RegisterPipelineKernels(env, exports);
  RegisterStepKernels(env, exports);
  RegisterSafetensors(env, exports);
}

}  // namespace tessera
