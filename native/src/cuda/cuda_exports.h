// The JavaScript functions of the cuda part, one file each; InitCuda (cuda_init.cc) calls them all.
#pragma once

#include <napi.h>

namespace tessera::cuda {

void ExportStatus(Napi::Env env, Napi::Object exports);        // cudaStatus()
void ExportKernelOnHost(Napi::Env env, Napi::Object exports);  // cudaKernelOnHost(op, buffers, params)
void ExportRuntime(Napi::Env env, Napi::Object exports);  // cudaLibraries, bindCudaDevice, transfer counts, …

}  // namespace tessera::cuda
