// Finds, opens and checks libtessera_cuda.so once per process. The checks run from the cheapest and
// most common reason to the rarest, so the message names the first thing that is missing: the library
// was never built, then the driver, then the ABI, then devices.
#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda/cuda_api.h"
#include "util/errors.h"

namespace tessera::cuda {
namespace {

// Owns one dlopen handle. Handles kept in the process-wide Loaded object are never closed in practice
// (it lives until exit), but a failed load closes what it opened.
class SharedLibrary {
 public:
  SharedLibrary() = default;
  explicit SharedLibrary(void* handle) : handle_(handle) {}
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;
  SharedLibrary(SharedLibrary&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  SharedLibrary& operator=(SharedLibrary&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = other.handle_;
      other.handle_ = nullptr;
    }
    return *this;
  }
  ~SharedLibrary() { Reset(); }

  static SharedLibrary Open(const std::string& path, std::string* error) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* message = dlerror();
      *error = message ? message : "unknown dlopen error";
    }
    return SharedLibrary(handle);
  }

  explicit operator bool() const { return handle_ != nullptr; }
  void* Symbol(const char* name) const { return dlsym(handle_, name); }

 private:
  void Reset() {
    if (handle_) dlclose(handle_);
    handle_ = nullptr;
  }
  void* handle_ = nullptr;
};

struct Loaded {
  SharedLibrary driver;   // libcuda.so.1, held so the probe result stays true
  SharedLibrary library;  // libtessera_cuda.so
  CudaApi api{};
  bool ok = false;
  std::string whyNot;
};

// TESSERA_CUDA_LIB when set to a non-empty path; empty otherwise (an empty value means "not set").
std::string OverridePath() {
  const char* path = std::getenv("TESSERA_CUDA_LIB");
  return path ? std::string(path) : std::string();
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string DirName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// Directory of the shared object that contains this function: the addon's .node file.
std::string AddonDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&AddonDirectory), &info) == 0 || !info.dli_fname) return ".";
  return DirName(info.dli_fname);
}

// Fills every CudaApi member from the library; names the first missing symbol.
bool ResolveSymbols(const SharedLibrary& library, CudaApi* api, std::string* missing) {
#define TESSERA_CUDA_RESOLVE(member)                                                         \
  api->member = reinterpret_cast<decltype(api->member)>(library.Symbol("tessera_cuda_" #member)); \
  if (!api->member) {                                                                        \
    *missing = "tessera_cuda_" #member;                                                      \
    return false;                                                                            \
  }
  TESSERA_CUDA_RESOLVE(abi_version)
  TESSERA_CUDA_RESOLVE(last_error)
  TESSERA_CUDA_RESOLVE(versions)
  TESSERA_CUDA_RESOLVE(library_info)
  TESSERA_CUDA_RESOLVE(device_count)
  TESSERA_CUDA_RESOLVE(device_info_get)
  TESSERA_CUDA_RESOLVE(set_device)
  TESSERA_CUDA_RESOLVE(get_device)
  TESSERA_CUDA_RESOLVE(malloc)
  TESSERA_CUDA_RESOLVE(free)
  TESSERA_CUDA_RESOLVE(memcpy_h2d)
  TESSERA_CUDA_RESOLVE(memcpy_d2h)
  TESSERA_CUDA_RESOLVE(memcpy_d2d)
  TESSERA_CUDA_RESOLVE(memset_zero)
  TESSERA_CUDA_RESOLVE(malloc_async)
  TESSERA_CUDA_RESOLVE(free_async)
  TESSERA_CUDA_RESOLVE(stream_create)
  TESSERA_CUDA_RESOLVE(stream_destroy)
  TESSERA_CUDA_RESOLVE(stream_synchronize)
  TESSERA_CUDA_RESOLVE(convert)
  TESSERA_CUDA_RESOLVE(binary)
  TESSERA_CUDA_RESOLVE(unary)
  TESSERA_CUDA_RESOLVE(scaled_add)
  TESSERA_CUDA_RESOLVE(guidance_combine)
  TESSERA_CUDA_RESOLVE(affine)
  TESSERA_CUDA_RESOLVE(modulate)
  TESSERA_CUDA_RESOLVE(gated_residual)
  TESSERA_CUDA_RESOLVE(layer_norm)
  TESSERA_CUDA_RESOLVE(rms_norm)
  TESSERA_CUDA_RESOLVE(layer_norm_modulate)
  TESSERA_CUDA_RESOLVE(softmax)
  TESSERA_CUDA_RESOLVE(rope)
  TESSERA_CUDA_RESOLVE(rms_norm_rope)
  TESSERA_CUDA_RESOLVE(timestep_sinusoid)
  TESSERA_CUDA_RESOLVE(attention)
  TESSERA_CUDA_RESOLVE(attention_cudnn)
  TESSERA_CUDA_RESOLVE(lse_merge)
  TESSERA_CUDA_RESOLVE(permute)
  TESSERA_CUDA_RESOLVE(copy_2d)
  TESSERA_CUDA_RESOLVE(concat)
  TESSERA_CUDA_RESOLVE(group_norm)
  TESSERA_CUDA_RESOLVE(conv2d)
  TESSERA_CUDA_RESOLVE(upsample_nearest)
  TESSERA_CUDA_RESOLVE(gemm)
  TESSERA_CUDA_RESOLVE(linear)
#undef TESSERA_CUDA_RESOLVE
  return true;
}

void Load(Loaded* out) {
  const std::string path = LibraryPath();
  if (!FileExists(path)) {
    out->whyNot = !OverridePath().empty()
                      ? "TESSERA_CUDA_LIB points to " + path + ", which does not exist"
                      : "libtessera_cuda.so was not built (no nvcc): expected at " + path +
                            "; build it with TESSERA_CUDA_COMPILE=1 ./scripts/setup";
    return;
  }
  std::string error;
  // Probe the driver ourselves: the CUDA runtime would only say "insufficient driver" without naming it.
  out->driver = SharedLibrary::Open("libcuda.so.1", &error);
  if (!out->driver) {
    out->whyNot = "no CUDA driver (libcuda.so.1 not found: " + error + ")";
    return;
  }
  out->library = SharedLibrary::Open(path, &error);
  if (!out->library) {
    out->whyNot = "cannot load " + path + ": " + error;
    return;
  }
  std::string missing;
  if (!ResolveSymbols(out->library, &out->api, &missing)) {
    out->whyNot = path + " lacks " + missing + " (a stale build? run ./scripts/setup)";
    return;
  }
  const int abi = out->api.abi_version();
  if (abi != TESSERA_CUDA_ABI_VERSION) {
    out->whyNot = path + " has ABI version " + std::to_string(abi) + ", this addon expects " +
                  std::to_string(TESSERA_CUDA_ABI_VERSION) + " (rebuild both with ./scripts/setup)";
    return;
  }
  int count = 0;
  if (out->api.device_count(&count) != 0) {
    int runtime = 0, driver = 0;
    out->api.versions(&runtime, &driver);
    out->whyNot = std::string("CUDA driver unusable: ") + out->api.last_error() + " (driver " +
                  std::to_string(driver) + ", runtime " + std::to_string(runtime) + ")";
    return;
  }
  if (count == 0) {
    out->whyNot = "no CUDA device";
    return;
  }
  out->ok = true;
}

}  // namespace

std::string LibraryPath() {
  if (std::string path = OverridePath(); !path.empty()) return path;
  // The addon is native/build/Release/tessera_native.node; 45-cuda writes native/cuda/build/.
  return AddonDirectory() + "/../../cuda/build/libtessera_cuda.so";
}

const CudaApi* Api(std::string* whyNot) {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      Load(&loaded);
    } catch (const std::exception& e) {
      loaded.ok = false;
      loaded.whyNot = std::string("loading the CUDA backend failed: ") + e.what();
    }
  });
  if (loaded.ok) return &loaded.api;
  if (whyNot) *whyNot = loaded.whyNot;
  return nullptr;
}

void Check(const CudaApi& api, tessera_cuda_status status, const char* what) {
  if (status != 0) Fail(std::string(what) + ": " + api.last_error());
}

}  // namespace tessera::cuda
