#pragma once

#include <napi.h>

namespace tessera {
// Exports the SafetensorsFile class: new SafetensorsFile(path) validates and maps the file.
void RegisterSafetensors(Napi::Env env, Napi::Object exports);
}  // namespace tessera
