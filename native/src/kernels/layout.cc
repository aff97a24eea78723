// Concatenation along any axis: for each index of the axes before `axis`, the parts contribute one
// contiguous run each, so the copy is a sequence of memcpy calls (what all-to-all layouts need).
#include <cstring>

#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {

Tensor Concat(const std::vector<Tensor>& partsIn, int64_t axisIn) {
  if (partsIn.empty()) FailType("concat: needs at least one tensor");
  const Tensor& first = partsIn.front();
  if (gpu::On(partsIn.front())) return gpu::Concat(partsIn, axisIn);
  RequireCpu(first, "concat part 0");
  const int64_t axis = NormalizeAxis(axisIn, first.Dim(), "concat");
  Shape shape = first.shape;
  shape[static_cast<std::size_t>(axis)] = 0;
  std::vector<Tensor> parts;
  parts.reserve(partsIn.size());
  for (std::size_t i = 0; i < partsIn.size(); ++i) {
    const Tensor& p = partsIn[i];
    const std::string name = "concat part " + std::to_string(i);
    RequireCpu(p, name.c_str());
    if (p.dtype != first.dtype) FailType(name + ": dtype " + DTypeName(p.dtype) + " differs from " + DTypeName(first.dtype));
    if (p.Dim() != first.Dim()) FailType(name + ": " + p.Describe() + " has a different rank than " + first.Describe());
    for (int64_t a = 0; a < p.Dim(); ++a) {
      if (a != axis && p.Size(a) != first.Size(a)) {
        FailType(name + ": " + p.Describe() + " differs from " + first.Describe() + " outside axis " + std::to_string(axis));
      }
    }
    shape[static_cast<std::size_t>(axis)] += p.Size(axis);
    parts.push_back(Contiguous(p));
  }
  Tensor out = Empty(shape, first.dtype);
  const std::size_t elem = DTypeSize(first.dtype);
  int64_t outer = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= shape[static_cast<std::size_t>(a)];
  int64_t inner = 1;
  for (int64_t a = axis + 1; a < out.Dim(); ++a) inner *= shape[static_cast<std::size_t>(a)];
  const int64_t outRun = shape[static_cast<std::size_t>(axis)] * inner;
  ParallelFor(outer, std::max<int64_t>(1, 65536 / std::max<int64_t>(outRun, 1)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      char* dst = static_cast<char*>(out.Raw()) + static_cast<std::size_t>(o * outRun) * elem;
      for (const Tensor& p : parts) {
        const int64_t run = p.Size(axis) * inner;
        std::memcpy(dst, static_cast<const char*>(p.Raw()) + static_cast<std::size_t>(o * run) * elem,
                    static_cast<std::size_t>(run) * elem);
        dst += static_cast<std::size_t>(run) * elem;
      }
    }
  });
  return out;
}

}  // namespace tessera
