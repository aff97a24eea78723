// The NVIDIA libraries the backend loads with dlopen on first use (cuBLAS, cuBLASLt, cuDNN), found the
// same way everywhere: the TESSERA_<NAME>_LIB override when set, else each soname in turn through the
// dynamic loader's own search (LD_LIBRARY_PATH, the ld.so cache, the system folders). A library is loaded
// once per process and never closed: its device state outlives every handle made from it.
#pragma once

#include <string>

#include "tessera_cuda.h"

namespace tessera_cuda {

struct LoadedLibrary {
  void* handle = nullptr;  // null when not found
  std::string path;        // the file the loader opened
  std::string error;       // why handle is null: each name tried and the loader's reason
  void* Symbol(const char* name) const;
};

// Loads `library` on the first call (thread-safe) and returns the same answer afterwards.
const LoadedLibrary& Library(tessera_cuda_library library);

// "cuBLAS", "cuBLASLt", "cuDNN".
const char* LibraryName(tessera_cuda_library library);

}  // namespace tessera_cuda
