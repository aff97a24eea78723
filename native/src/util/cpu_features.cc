#include "util/cpu_features.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace tessera {
namespace {

#if defined(__x86_64__) || defined(__i386__)

struct Regs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs Cpuid(unsigned leaf, unsigned subleaf = 0) {
  Regs r;
  if (__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx) == 0) return Regs{};
  return r;
}

bool Bit(unsigned value, int bit) { return ((value >> bit) & 1u) != 0; }

// XCR0: which register states the OS saves on a context switch. Instructions whose registers the OS
// does not save must not be used even when CPUID lists them.
uint64_t EnabledStates() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures Read() {
  CpuFeatures f;
  const Regs r0 = Cpuid(0);
  const unsigned maxLeaf = r0.eax;
  char vendor[13] = {};
  std::memcpy(vendor, &r0.ebx, 4);
  std::memcpy(vendor + 4, &r0.edx, 4);
  std::memcpy(vendor + 8, &r0.ecx, 4);
  f.vendor = vendor;

  const Regs r1 = Cpuid(1);
  const unsigned baseFamily = (r1.eax >> 8) & 0xf;
  f.family = static_cast<int>(baseFamily == 0xf ? baseFamily + ((r1.eax >> 20) & 0xff) : baseFamily);
  f.model = static_cast<int>(((r1.eax >> 4) & 0xf) |
                             (baseFamily == 0x6 || baseFamily == 0xf ? ((r1.eax >> 16) & 0xf) << 4 : 0));
  f.sse2 = Bit(r1.edx, 26);
  f.sse41 = Bit(r1.ecx, 19);
  f.sse42 = Bit(r1.ecx, 20);
  const bool osxsave = Bit(r1.ecx, 27);
  const uint64_t xcr0 = osxsave ? EnabledStates() : 0;
  const bool osYmm = (xcr0 & 0x6) == 0x6;       // SSE + AVX state
  const bool osZmm = (xcr0 & 0xe6) == 0xe6;     // + opmask, ZMM0-15 upper halves, ZMM16-31
  const bool osTile = (xcr0 & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
  f.avx = osYmm && Bit(r1.ecx, 28);
  f.fma = osYmm && Bit(r1.ecx, 12);
  f.f16c = osYmm && Bit(r1.ecx, 29);

  if (maxLeaf >= 7) {
    const Regs r7 = Cpuid(7, 0);
    f.avx2 = osYmm && Bit(r7.ebx, 5);
    f.avx512f = osZmm && Bit(r7.ebx, 16);
    f.avx512dq = f.avx512f && Bit(r7.ebx, 17);
    f.avx512bw = f.avx512f && Bit(r7.ebx, 30);
    f.avx512vl = f.avx512f && Bit(r7.ebx, 31);
    f.avx512fp16 = f.avx512f && Bit(r7.edx, 23);
    f.amxBf16 = osTile && Bit(r7.edx, 22);
    f.amxTile = osTile && Bit(r7.edx, 24);
    if (r7.eax >= 1) f.avx512bf16 = f.avx512f && Bit(Cpuid(7, 1).eax, 5);
  }

  if (Cpuid(0x80000000).eax >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      const Regs r = Cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &r.eax, 4);
      std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &r.edx, 4);
    }
    std::string name = brand;
    const auto first = name.find_first_not_of(' ');
    const auto last = name.find_last_not_of(' ');
    f.brand = first == std::string::npos ? "" : name.substr(first, last - first + 1);
  }
  return f;
}

#else

CpuFeatures Read() { return CpuFeatures{}; }  // not x86: only the portable kernels apply

#endif

}  // namespace

std::string CpuFeatures::List() const {
  std::string out;
  const auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(sse2, "sse2");
  add(sse41, "sse4.1");
  add(sse42, "sse4.2");
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512dq, "avx512dq");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512bf16, "avx512_bf16");
  add(avx512fp16, "avx512_fp16");
  add(amxTile, "amx_tile");
  add(amxBf16, "amx_bf16");
  return out.empty() ? "none" : out;
}

const CpuFeatures& DetectCpuFeatures() {
  static const CpuFeatures features = Read();
  return features;
}

}  // namespace tessera
