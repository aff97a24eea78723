// Debian's OpenBLAS as one of the GEMM choices (TESSERA_CPU_KERNELS=openblas), loaded with dlopen only
// when chosen. OpenBLAS picks its kernels from the CPU's model number when it initialises, and on CPUs it
// cannot name it falls back to SSE3 kernels without a word; so before loading it we name its core from
// CPUID (OPENBLAS_CORETYPE, unless the user set one) and afterwards check which core it really took.
#pragma once

#include <string>

#include "util/cpu_features.h"

namespace tessera::cpu {

struct OpenBlas {
  // cblas_sgemm with CblasRowMajor (101) and transposes CblasNoTrans (111) / CblasTrans (112).
  void (*sgemm)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc) = nullptr;
  void (*setNumThreads)(int threads) = nullptr;
  std::string core;       // what openblas_get_corename() reports after loading
  std::string requested;  // the core asked for: the user's OPENBLAS_CORETYPE, else cpuidCore
  std::string cpuidCore;  // the core CPUID names for this CPU (OpenBlasCoreFor)
  std::string config;     // openblas_get_config()
};

// The OpenBLAS core whose kernels this CPU runs best (names as OPENBLAS_CORETYPE takes them).
std::string OpenBlasCoreFor(const CpuFeatures& cpu);

// Loads OpenBLAS once; throws tessera::Error with the reason when it cannot be loaded.
const OpenBlas& LoadOpenBlas();
// The loaded library, or nullptr when nothing loaded it yet.
const OpenBlas* LoadedOpenBlas();

}  // namespace tessera::cpu
