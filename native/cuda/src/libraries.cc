#include "libraries.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <mutex>

namespace tessera_cuda {
namespace {

struct Candidates {
  const char* env;
  const char* names[3];
};

// CUDA 13 sonames first: the backend is built by nvcc 13; the .so.12 ones serve drivers that still ship
// only CUDA 12 libraries (cuBLAS keeps its C ABI across the two).
Candidates CandidatesFor(tessera_cuda_library library) {
  switch (library) {
    case TESSERA_CUDA_LIB_CUBLAS:
      return {"TESSERA_CUBLAS_LIB", {"libcublas.so.13", "libcublas.so.12", nullptr}};
    case TESSERA_CUDA_LIB_CUBLASLT:
      return {"TESSERA_CUBLASLT_LIB", {"libcublasLt.so.13", "libcublasLt.so.12", nullptr}};
    case TESSERA_CUDA_LIB_CUDNN:
      return {"TESSERA_CUDNN_LIB", {"libcudnn.so.9", nullptr, nullptr}};
  }
  return {nullptr, {nullptr, nullptr, nullptr}};
}

std::string OpenedPath(void* handle, const char* fallback) {
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) return map->l_name;
  return fallback;
}

LoadedLibrary Load(tessera_cuda_library library) {
  LoadedLibrary loaded;
  const Candidates c = CandidatesFor(library);
  std::string tried;
  auto attempt = [&](const char* name) {
    void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      loaded.handle = handle;
      loaded.path = OpenedPath(handle, name);
      return true;
    }
    const char* err = dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + (err ? err : name);
    return false;
  };
  const char* override_path = c.env ? std::getenv(c.env) : nullptr;
  if (override_path && *override_path) {
    // An explicit choice is final: falling back to another copy would hide the misconfiguration.
    if (!attempt(override_path)) loaded.error = std::string(c.env) + "=" + override_path + " cannot be loaded: " + tried;
    return loaded;
  }
  for (const char* name : c.names) {
    if (name && attempt(name)) return loaded;
  }
  loaded.error = std::string(LibraryName(library)) + " not found (" + tried + "); install it, put its folder on " +
                 "LD_LIBRARY_PATH, or set " + (c.env ? c.env : "its override");
  return loaded;
}

}  // namespace

void* LoadedLibrary::Symbol(const char* name) const { return handle ? dlsym(handle, name) : nullptr; }

const char* LibraryName(tessera_cuda_library library) {
  switch (library) {
    case TESSERA_CUDA_LIB_CUBLAS: return "cuBLAS";
    case TESSERA_CUDA_LIB_CUBLASLT: return "cuBLASLt";
    case TESSERA_CUDA_LIB_CUDNN: return "cuDNN";
  }
  return "unknown library";
}

const LoadedLibrary& Library(tessera_cuda_library library) {
  static LoadedLibrary loaded[3];
  static std::once_flag once[3];
  const int i = static_cast<int>(library);
  std::call_once(once[i], [&] { loaded[i] = Load(library); });
  return loaded[i];
}

}  // namespace tessera_cuda
