#include "kernels/cpu/openblas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <strings.h>

#include "util/errors.h"
#include "util/thread_pool.h"

namespace tessera::cpu {
namespace {

std::mutex loadMutex;
OpenBlas* loaded = nullptr;  // leaked on purpose, like the dlopen handle: OpenBLAS's threads outlive us

template <typename Fn>
Fn Symbol(void* handle, const char* name) {
  void* sym = dlsym(handle, name);
  if (sym == nullptr) Fail(std::string("OpenBLAS: libopenblas.so.0 has no symbol ") + name);
  return reinterpret_cast<Fn>(sym);
}

// A user's OPENBLAS_CORETYPE that needs instructions this CPU lacks would crash on the first GEMM
// (SIGILL); refuse it with the reason instead. Names OpenBLAS checks itself, or that need nothing
// beyond SSE, are passed through.
void CheckUserCore(const std::string& core, const CpuFeatures& cpu) {
  const auto is = [&](const char* name) { return strcasecmp(core.c_str(), name) == 0; };
  const char* needs = nullptr;
  bool ok = true;
  if (is("SkylakeX")) {
    needs = "avx512f avx512bw avx512dq avx512vl";
    ok = cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl;
  } else if (is("Haswell") || is("Zen") || is("Excavator")) {
    needs = "avx2 fma";
    ok = cpu.avx2 && cpu.fma;
  } else if (is("Sandybridge") || is("Bulldozer") || is("Piledriver") || is("Steamroller")) {
    needs = "avx";
    ok = cpu.avx;
  }
  if (!ok) {
    Fail("OPENBLAS_CORETYPE=" + core + " needs " + needs + ", which this CPU lacks (it has: " + cpu.List() +
         "); unset it to let Tessera name the core from CPUID");
  }
}

}  // namespace

std::string OpenBlasCoreFor(const CpuFeatures& cpu) {
  const bool amd = cpu.vendor == "AuthenticAMD" || cpu.vendor == "HygonGenuine";
  if (cpu.avx512bf16) return "Cooperlake";
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return amd ? "Zen" : "Haswell";
  if (cpu.avx) return "Sandybridge";
  if (cpu.sse42) return "Nehalem";
  return "Prescott";
}

const OpenBlas& LoadOpenBlas() {
  std::lock_guard<std::mutex> lock(loadMutex);
  if (loaded != nullptr) return *loaded;
  auto blas = std::make_unique<OpenBlas>();
  const char* userCore = std::getenv("OPENBLAS_CORETYPE");
  const bool named = userCore == nullptr || *userCore == '\0';
  blas->cpuidCore = OpenBlasCoreFor(DetectCpuFeatures());
  blas->requested = named ? blas->cpuidCore : userCore;
  if (!named) CheckUserCore(blas->requested, DetectCpuFeatures());
  // OpenBLAS reads the variable in its load-time constructor; it is removed again right after.
  if (named) setenv("OPENBLAS_CORETYPE", blas->requested.c_str(), 1);
  void* handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (named) unsetenv("OPENBLAS_CORETYPE");
  if (handle == nullptr) {
    const char* why = dlerror();
    Fail(std::string("OpenBLAS: cannot load libopenblas.so.0 (install the Debian package libopenblas0): ") +
         (why != nullptr ? why : "unknown dlopen error"));
  }
  using SgemmFn = decltype(OpenBlas::sgemm);
  blas->sgemm = Symbol<SgemmFn>(handle, "cblas_sgemm");
  blas->setNumThreads = Symbol<void (*)(int)>(handle, "openblas_set_num_threads");
  blas->core = Symbol<char* (*)()>(handle, "openblas_get_corename")();
  blas->config = Symbol<char* (*)()>(handle, "openblas_get_config")();
  blas->setNumThreads(NumThreads());
  OnThreadCountChange(blas->setNumThreads);
  loaded = blas.release();
  return *loaded;
}

const OpenBlas* LoadedOpenBlas() {
  std::lock_guard<std::mutex> lock(loadMutex);
  return loaded;
}

}  // namespace tessera::cpu
