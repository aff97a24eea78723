#pragma once

#include <napi.h>

namespace tessera {
void RegisterPipelineKernels(Napi::Env env, Napi::Object exports);
}  // namespace tessera
