// Registration of the cuda part of the addon (see register.h).
#include "cuda/cuda_exports.h"
#include "register.h"

namespace tessera {

void InitCuda(Napi::Env env, Napi::Object exports) {
  cuda::ExportStatus(env, exports);
  cuda::ExportKernelOnHost(env, exports);
  cuda::ExportRuntime(env, exports);
}

}  // namespace tessera
