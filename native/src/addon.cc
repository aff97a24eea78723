// Addon entry point: one Init call per part (see register.h). Each part registers its own exports;
// a part that is not built yet simply has no line here.
#include <napi.h>

#include "register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tessera::InitTensor(env, exports);
  tessera::InitComm(env, exports);
  tessera::InitCuda(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tessera_native, Init)
