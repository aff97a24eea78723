#pragma once

#include <napi.h>

namespace tessera {
void RegisterCreation(Napi::Env env, Napi::Object exports);
}  // namespace tessera
