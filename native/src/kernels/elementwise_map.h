// The loop shared by element-wise kernels: read x as contiguous f32, write out (or a fresh tensor; in
// place when out is x), split across the thread pool. `kernel(x, y, n)` maps n consecutive elements.
#pragma once

#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {

template <typename RangeKernel>
Tensor MapUnary(const Tensor& xIn, const Tensor* outIn, const char* name, RangeKernel kernel,
                int64_t grain = int64_t{1} << 15) {
  RequireCpu(xIn, name);
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(x.Numel(), grain, [&](int64_t b, int64_t e) { kernel(xp + b, yp + b, e - b); });
  return out;
}

}  // namespace tessera
