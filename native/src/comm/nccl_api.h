// NCCL and the CUDA driver, loaded at run time with dlopen so that the addon builds and runs on machines
// without either (every CPU-only machine): the few prototypes and enums we need are declared here from
// the public C APIs (see refs/runtime.md §7.1). The driver API, not cudart, sets the device: libcuda.so.1
// ships with every driver, and NCCL works in the device's primary context, which is what we make current.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tessera::comm::nccl {

// ---- NCCL types (nccl.h) --------------------------------------------------------------------------
using ncclComm_t = struct ncclComm*;
using ncclResult_t = int;  // 0 success, 7 in progress
using ncclDataType_t = int;
using ncclRedOp_t = int;
struct ncclUniqueId {
  char internal[128];
};
constexpr ncclResult_t kNcclSuccess = 0;
constexpr ncclResult_t kNcclInProgress = 7;
constexpr ncclRedOp_t kNcclSum = 0;
constexpr ncclRedOp_t kNcclMax = 2;

// ---- CUDA driver types (cuda.h) --------------------------------------------------------------------
using CUresult = int;
using CUdevice = int;
using CUcontext = struct CUctx_st*;
using CUstream = struct CUstream_st*;
using CUevent = struct CUevent_st*;
using CUdeviceptr = unsigned long long;
constexpr CUresult kCudaSuccess = 0;
constexpr CUresult kCudaNotReady = 600;
// CU_STREAM_LEGACY: the default stream every kernel of the CUDA backend is queued on.
inline CUstream LegacyStream() { return reinterpret_cast<CUstream>(0x1); }

struct Api {
  // NCCL
  ncclResult_t (*GetVersion)(int*);
  ncclResult_t (*GetUniqueId)(ncclUniqueId*);
  ncclResult_t (*CommInitRank)(ncclComm_t*, int, ncclUniqueId, int);
  ncclResult_t (*CommAbort)(ncclComm_t);
  ncclResult_t (*CommDestroy)(ncclComm_t);
  ncclResult_t (*CommGetAsyncError)(ncclComm_t, ncclResult_t*);
  const char* (*GetErrorString)(ncclResult_t);
  ncclResult_t (*AllReduce)(const void*, void*, std::size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, CUstream);
  ncclResult_t (*AllGather)(const void*, void*, std::size_t, ncclDataType_t, ncclComm_t, CUstream);
  ncclResult_t (*Broadcast)(const void*, void*, std::size_t, ncclDataType_t, int, ncclComm_t, CUstream);
  ncclResult_t (*Send)(const void*, std::size_t, ncclDataType_t, int, ncclComm_t, CUstream);
  ncclResult_t (*Recv)(void*, std::size_t, ncclDataType_t, int, ncclComm_t, CUstream);
  ncclResult_t (*GroupStart)();
  ncclResult_t (*GroupEnd)();
  // CUDA driver
  CUresult (*Init)(unsigned);
  CUresult (*DeviceGet)(CUdevice*, int);
  CUresult (*PrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*PrimaryCtxRelease)(CUdevice);
  CUresult (*CtxSetCurrent)(CUcontext);
  CUresult (*StreamCreate)(CUstream*, unsigned);
  CUresult (*StreamDestroy)(CUstream);
  CUresult (*EventCreate)(CUevent*, unsigned);
  CUresult (*EventRecord)(CUevent, CUstream);
  CUresult (*EventQuery)(CUevent);
  CUresult (*EventDestroy)(CUevent);
  CUresult (*MemAlloc)(CUdeviceptr*, std::size_t);
  CUresult (*MemFree)(CUdeviceptr);
  CUresult (*GetErrorString2)(CUresult, const char**);
  CUresult (*StreamWaitEvent)(CUstream, CUevent, unsigned);
};

// Loads libnccl.so.2 and libcuda.so.1 once per process. Throws tessera::Error saying which library or
// symbol is missing; later calls rethrow the same failure without retrying.
const Api& LoadApi();

// The loaded libnccl's file (as the dynamic loader found it) and ncclGetVersion (e.g. 22809 for 2.28.9);
// throws LoadApi's reason when NCCL or the driver is missing.
void LibraryInfo(std::string* path, int* version);

// "NCCL <call> failed: <message> (code n)" / "CUDA <call> failed: …", for error reports.
std::string NcclError(const Api& api, const char* call, ncclResult_t rc);
std::string CudaError(const Api& api, const char* call, CUresult rc);

}  // namespace tessera::comm::nccl
