#pragma once

#include <napi.h>

namespace tessera {
void RegisterKernels(Napi::Env env, Napi::Object exports);
}  // namespace tessera
