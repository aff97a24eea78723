// What this CPU can run, read from CPUID and the OS's enabled register state (XGETBV), never from the
// CPU's name: a VM that reports only "Intel Xeon Processor" still says exactly which instructions work.
#pragma once

#include <string>

namespace tessera {

struct CpuFeatures {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  std::string brand;   // the marketing name, for people only
  int family = 0;
  int model = 0;
  bool sse2 = false;
  bool sse41 = false;
  bool sse42 = false;
  bool avx = false;   // instruction set and the OS saves YMM state
  bool avx2 = false;  // with the OS saving YMM state
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;  // with the OS saving ZMM and opmask state
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512bf16 = false;
  bool avx512fp16 = false;
  bool amxTile = false;  // CPUID only: Linux also needs a per-process permission request before use
  bool amxBf16 = false;

  // "avx2 fma f16c ..." in a fixed order, for logs and benchmark headers.
  std::string List() const;
};

// Read once per process.
const CpuFeatures& DetectCpuFeatures();

}  // namespace tessera
