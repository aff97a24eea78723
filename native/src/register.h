// Module registration: each part of the addon exports its functions through one Init function, called
// from addon.cc. The comm and cuda parts add their call there; nothing else needs to change.
#pragma once

#include <napi.h>

namespace tessera {

void InitTensor(Napi::Env env, Napi::Object exports);  // tensors, kernels, safetensors (native/src/tensor/)
void InitComm(Napi::Env env, Napi::Object exports);    // TCP store, gloo/NCCL communicators (native/src/comm/)
void InitCuda(Napi::Env env, Napi::Object exports);    // CUDA backend loader (native/src/cuda/)

}  // namespace tessera
