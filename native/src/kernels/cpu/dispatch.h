// Which CPU kernels this process runs, chosen once from CPUID (never from the CPU's name) or forced with
// TESSERA_CPU_KERNELS=auto|avx512|avx2|baseline|openblas. A forced choice the CPU cannot run is an error
// naming what is missing, never a crash or a silent fallback. The choice and its reason are reported to
// JavaScript (cpuKernels()), which logs them once at start and prints them in the benchmarks.
#pragma once

#include <string>
#include <vector>

#include "kernels/cpu/kernel_set.h"

namespace tessera::cpu {

struct Dispatch {
  std::string name;    // "avx2", "openblas", ...
  std::string reason;  // why this one, in a sentence
  // Our kernels: attention always, GEMM unless `openblas`.
  const KernelSet* kernels = nullptr;
  bool openblas = false;
  std::vector<std::string> runnable;  // every choice this CPU can run, best first
  std::vector<std::string> unavailable;  // "avx512: needs avx512f", one per choice it cannot run
};

// The process's choice (made on first use). Throws tessera::Error when TESSERA_CPU_KERNELS is invalid or
// names a choice this CPU cannot run; every later call throws the same error.
const Dispatch& ActiveDispatch();

}  // namespace tessera::cpu
