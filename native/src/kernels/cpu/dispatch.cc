#include "kernels/cpu/dispatch.h"

#include <cstdlib>
#include <mutex>
#include <strings.h>

#include "kernels/cpu/openblas.h"
#include "util/cpu_features.h"
#include "util/errors.h"

namespace tessera::cpu {
namespace {

constexpr const char* kVariable = "TESSERA_CPU_KERNELS";

struct Option {
  const char* name;
  const KernelSet& (*kernels)();
  const char* needs;  // for people
  bool (*runs)(const CpuFeatures&);
};

bool IsX86() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

// Best first. Our kernels need nothing beyond what their table was compiled for.
const Option kOptions[] = {
    {"avx512", Avx512Kernels, "avx512f, avx2, fma, f16c",
     [](const CpuFeatures& f) { return IsX86() && f.avx512f && f.avx2 && f.fma && f.f16c; }},
    {"avx2", Avx2Kernels, "avx2, fma, f16c", [](const CpuFeatures& f) { return IsX86() && f.avx2 && f.fma && f.f16c; }},
    {"baseline", BaselineKernels, "nothing", [](const CpuFeatures&) { return true; }},
};

std::string Requested() {
  const char* value = std::getenv(kVariable);
  return value == nullptr ? "" : value;
}

Dispatch Choose() {
  const CpuFeatures& cpu = DetectCpuFeatures();
  Dispatch d;
  const Option* best = nullptr;
  for (const Option& option : kOptions) {
    if (option.runs(cpu)) {
      d.runnable.push_back(option.name);
      if (best == nullptr) best = &option;
    } else {
      d.unavailable.push_back(std::string(option.name) + ": needs " + option.needs);
    }
  }
  d.runnable.push_back("openblas");
  d.kernels = &best->kernels();

  const std::string requested = Requested();
  if (requested.empty() || requested == "auto") {
    d.name = best->name;
    d.reason = std::string("the best kernels this CPU runs");
    if (best != &kOptions[0]) d.reason += std::string(" (") + kOptions[0].name + " needs " + kOptions[0].needs + ")";
    return d;
  }
  if (requested == "openblas") {
    const OpenBlas& blas = LoadOpenBlas();
    d.name = "openblas";
    d.openblas = true;
    d.reason = std::string(kVariable) + "=openblas: GEMM by OpenBLAS core " + blas.core;
    if (strcasecmp(blas.requested.c_str(), blas.cpuidCore.c_str()) != 0) {
      d.reason += " (OPENBLAS_CORETYPE=" + blas.requested + " set by hand; CPUID names " + blas.cpuidCore + ")";
    } else if (strcasecmp(blas.core.c_str(), blas.requested.c_str()) != 0) {
      d.reason += " (asked for " + blas.requested + ", which this OpenBLAS does not have or refused)";
    }
    d.reason += std::string("; attention by our ") + best->name + " kernels";
    return d;
  }
  for (const Option& option : kOptions) {
    if (requested != option.name) continue;
    if (!option.runs(cpu)) {
      Fail(std::string(kVariable) + "=" + requested + ": this CPU cannot run it (it needs " + option.needs +
           "; the CPU has: " + cpu.List() + "); use one of: auto, " + [&] {
             std::string list;
             for (const auto& r : d.runnable) list += (list.empty() ? "" : ", ") + r;
             return list;
           }());
    }
    d.name = option.name;
    d.kernels = &option.kernels();
    d.reason = std::string(kVariable) + "=" + requested;
    return d;
  }
  Fail(std::string(kVariable) + "='" + requested + "' is not a kernel choice; use one of: auto, avx512, avx2, " +
       "baseline, openblas");
}

}  // namespace

const Dispatch& ActiveDispatch() {
  // Made once; a failed choice is remembered and rethrown, so every kernel call names the same problem.
  static std::once_flag once;
  static Dispatch chosen;
  static std::string error;
  std::call_once(once, [] {
    try {
      chosen = Choose();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (!error.empty()) Fail(error);
  return chosen;
}

}  // namespace tessera::cpu
