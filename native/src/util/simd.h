// TESSERA_SIMD compiles a hot loop once per x86-64 level (AVX-512, AVX2+FMA, baseline) and picks the
// best at load time (GCC function multiversioning), so one build runs well on any node it is copied to
// instead of being tied to the build machine's -march.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TESSERA_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TESSERA_SIMD
#endif
