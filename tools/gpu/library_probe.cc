// Prints where the CUDA backend's lookup finds each NVIDIA library it opens at run time, one line each:
// "<name> <path>" or "<name> missing: <reason>". It compiles native/cuda/src/libraries.cc itself (plain
// C++ and dlopen, no nvcc), so the answer is the backend's own, and adds the two sonames that others
// open the same way: libnccl.so.2 (native/src/comm/nccl_api.cc) and libcudart.so.13, which the cuDNN
// frontend opens for itself (cudnn_frontend_shim.h, load_cudart_so) to query the device while it builds
// a graph. test/native/cuda-gpu-check.test.ts runs it against site-packages trees laid out like the
// CUDA 13 and CUDA 12 wheels.
//
//   c++ -std=c++17 -Inative/cuda/include tools/gpu/library_probe.cc native/cuda/src/libraries.cc -ldl
#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <string>

#include "../../native/cuda/src/libraries.h"

namespace {

void Report(const char* name, const tessera_cuda::LoadedLibrary& library) {
  if (library.handle) {
    std::printf("%s %s\n", name, library.path.c_str());
  } else {
    std::printf("%s missing: %s\n", name, library.error.c_str());
  }
}

void ReportSoname(const char* name, const char* soname) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* error = dlerror();
    std::printf("%s missing: %s\n", name, error ? error : soname);
    return;
  }
  struct link_map* map = nullptr;
  const bool known = dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name;
  std::printf("%s %s\n", name, known ? map->l_name : soname);
}

}  // namespace

int main() {
  Report("cublas", tessera_cuda::Library(TESSERA_CUDA_LIB_CUBLAS));
  Report("cublasLt", tessera_cuda::Library(TESSERA_CUDA_LIB_CUBLASLT));
  Report("cudnn", tessera_cuda::Library(TESSERA_CUDA_LIB_CUDNN));
  ReportSoname("nccl", "libnccl.so.2");
  ReportSoname("cudart", "libcudart.so.13");
  return 0;
}
