#include "comm/nccl_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "util/errors.h"

namespace tessera::comm::nccl {

namespace {

void* OpenFirst(std::initializer_list<const char*> names, std::string* errors) {
  for (const char* name : names) {
    if (void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return h;
    const char* err = dlerror();
    *errors += std::string(errors->empty() ? "" : "; ") + (err ? err : name);
  }
  return nullptr;
}

template <typename Fn>
void Bind(void* lib, const char* symbol, Fn*& slot, const char* library) {
  slot = reinterpret_cast<Fn*>(dlsym(lib, symbol));
  if (slot == nullptr) Fail(std::string(library) + " has no symbol " + symbol + " (library too old?)");
}

Api LoadOnce() {
  Api api{};
  std::string errors;
  // Handles stay open for the life of the process: NCCL keeps threads running inside the library.
  void* cuda = OpenFirst({"libcuda.so.1", "libcuda.so"}, &errors);
  if (cuda == nullptr) Fail("NCCL backend unavailable: no CUDA driver (" + errors + ")");
  // TESSERA_NCCL_LIB names the file when set (nothing else is tried: a wrong path must not be hidden).
  const char* override_path = std::getenv("TESSERA_NCCL_LIB");
  const bool overridden = override_path != nullptr && *override_path != '\0';
  void* lib = overridden ? OpenFirst({override_path}, &errors) : OpenFirst({"libnccl.so.2", "libnccl.so"}, &errors);
  if (lib == nullptr) {
    Fail(overridden ? "NCCL backend unavailable: TESSERA_NCCL_LIB=" + std::string(override_path) + " cannot be loaded (" + errors + ")"
                    : "NCCL backend unavailable: cannot load libnccl.so.2 (" + errors + "); install NCCL, put its folder on " +
                          "LD_LIBRARY_PATH, or set TESSERA_NCCL_LIB");
  }
  Bind(lib, "ncclGetVersion", api.GetVersion, "libnccl");
  Bind(lib, "ncclGetUniqueId", api.GetUniqueId, "libnccl");
  Bind(lib, "ncclCommInitRank", api.CommInitRank, "libnccl");
  Bind(lib, "ncclCommAbort", api.CommAbort, "libnccl");
  Bind(lib, "ncclCommDestroy", api.CommDestroy, "libnccl");
  Bind(lib, "ncclCommGetAsyncError", api.CommGetAsyncError, "libnccl");
  Bind(lib, "ncclGetErrorString", api.GetErrorString, "libnccl");
  Bind(lib, "ncclAllReduce", api.AllReduce, "libnccl");
  Bind(lib, "ncclAllGather", api.AllGather, "libnccl");
  Bind(lib, "ncclBroadcast", api.Broadcast, "libnccl");
  Bind(lib, "ncclSend", api.Send, "libnccl");
  Bind(lib, "ncclRecv", api.Recv, "libnccl");
  Bind(lib, "ncclGroupStart", api.GroupStart, "libnccl");
  Bind(lib, "ncclGroupEnd", api.GroupEnd, "libnccl");
  Bind(cuda, "cuInit", api.Init, "libcuda");
  Bind(cuda, "cuDeviceGet", api.DeviceGet, "libcuda");
  Bind(cuda, "cuDevicePrimaryCtxRetain", api.PrimaryCtxRetain, "libcuda");
  Bind(cuda, "cuDevicePrimaryCtxRelease_v2", api.PrimaryCtxRelease, "libcuda");
  Bind(cuda, "cuCtxSetCurrent", api.CtxSetCurrent, "libcuda");
  Bind(cuda, "cuStreamCreate", api.StreamCreate, "libcuda");
  Bind(cuda, "cuStreamDestroy_v2", api.StreamDestroy, "libcuda");
  Bind(cuda, "cuEventCreate", api.EventCreate, "libcuda");
  Bind(cuda, "cuEventRecord", api.EventRecord, "libcuda");
  Bind(cuda, "cuEventQuery", api.EventQuery, "libcuda");
  Bind(cuda, "cuEventDestroy_v2", api.EventDestroy, "libcuda");
  Bind(cuda, "cuMemAlloc_v2", api.MemAlloc, "libcuda");
  Bind(cuda, "cuMemFree_v2", api.MemFree, "libcuda");
  Bind(cuda, "cuGetErrorString", api.GetErrorString2, "libcuda");
  Bind(cuda, "cuStreamWaitEvent", api.StreamWaitEvent, "libcuda");
  const CUresult rc = api.Init(0);
  if (rc != kCudaSuccess) Fail(CudaError(api, "cuInit", rc));
  return api;
}

}  // namespace

const Api& LoadApi() {
  static std::once_flag once;
  static Api api{};
  static std::string failure;
  std::call_once(once, [] {
    try {
      api = LoadOnce();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) Fail(failure);
  return api;
}

void LibraryInfo(std::string* path, int* version) {
  const Api& api = LoadApi();
  *version = 0;
  const ncclResult_t rc = api.GetVersion(version);
  if (rc != kNcclSuccess) Fail(NcclError(api, "ncclGetVersion", rc));
  Dl_info info{};
  *path = dladdr(reinterpret_cast<void*>(api.GetVersion), &info) != 0 && info.dli_fname ? info.dli_fname : "libnccl.so.2";
}

std::string NcclError(const Api& api, const char* call, ncclResult_t rc) {
  const char* text = api.GetErrorString != nullptr ? api.GetErrorString(rc) : nullptr;
  return std::string("NCCL ") + call + " failed: " + (text ? text : "unknown error") + " (code " + std::to_string(rc) + ")";
}

std::string CudaError(const Api& api, const char* call, CUresult rc) {
  const char* text = nullptr;
  if (api.GetErrorString2 != nullptr) api.GetErrorString2(rc, &text);
  return std::string("CUDA ") + call + " failed: " + (text ? text : "unknown error") + " (code " + std::to_string(rc) + ")";
}

}  // namespace tessera::comm::nccl
