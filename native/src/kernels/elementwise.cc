// Binary element-wise ops with NumPy broadcasting, and x·mul + add. In place when out is an input of the
// result's shape.
#include <algorithm>

#include "kernels/cuda_dispatch.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

Shape BroadcastShape(const Shape& a, const Shape& b) {
  const std::size_t dims = std::max(a.size(), b.size());
  Shape out(dims);
  for (std::size_t i = 0; i < dims; ++i) {
    const int64_t da = i < dims - a.size() ? 1 : a[i - (dims - a.size())];
    const int64_t db = i < dims - b.size() ? 1 : b[i - (dims - b.size())];
    if (da != db && da != 1 && db != 1) {
      FailType("shapes " + ShapeString(a) + " and " + ShapeString(b) + " cannot be broadcast together");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Strides of a contiguous tensor of shape `s` seen through the broadcast shape `to` (0 on broadcast axes).
Shape BroadcastStrides(const Shape& s, const Shape& to) {
  Shape strides(to.size(), 0);
  const Shape own = ContiguousStrides(s);
  const std::size_t lead = to.size() - s.size();
  for (std::size_t i = 0; i < s.size(); ++i) strides[lead + i] = s[i] == 1 ? 0 : own[i];
  return strides;
}

template <typename F>
void Apply(const float* a, const float* b, float* y, const Shape& shape, const Shape& sa, const Shape& sb, F f) {
  const int64_t n = NumElements(shape);
  if (n == 0) return;
  const std::size_t dims = shape.size();
  const int64_t inner = dims == 0 ? 1 : shape.back();
  const int64_t ia = dims == 0 ? 0 : sa.back(), ib = dims == 0 ? 0 : sb.back();
  ParallelFor(n / inner, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, oa = 0, ob = 0;
      for (std::size_t ax = dims - 1; ax-- > 0;) {
        const int64_t i = rem % shape[ax];
        rem /= shape[ax];
        oa += i * sa[ax];
        ob += i * sb[ax];
      }
      const float* pa = a + oa;
      const float* pb = b + ob;
      float* py = y + r * inner;
      if (ia == 1 && ib == 1) {
        for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], pb[i]);
      } else if (ia == 1 && ib == 0) {
        const float vb = *pb;
        for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], vb);
      } else if (ia == 0 && ib == 1) {
        const float va = *pa;
        for (int64_t i = 0; i < inner; ++i) py[i] = f(va, pb[i]);
      } else {
        for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i * ia], pb[i * ib]);
      }
    }
  });
}

}  // namespace

Tensor Binary(BinaryOp op, const Tensor& aIn, const Tensor& bIn, const Tensor* outIn) {
  if (gpu::On(aIn)) return gpu::Binary(op, aIn, bIn, outIn);
  RequireCpu(aIn, "a");
  RequireCpu(bIn, "b");
  const Shape shape = BroadcastShape(aIn.shape, bIn.shape);
  Tensor out = PrepareOut(outIn, shape);
  // An out that aliases a broadcast input would be overwritten while still being read.
  if (outIn != nullptr) {
    if (out.storage == aIn.storage && aIn.shape != shape) RequireNoAlias(out, aIn, "a (broadcast)");
    if (out.storage == bIn.storage && bIn.shape != shape) RequireNoAlias(out, bIn, "b (broadcast)");
  }
  const Tensor a = AsF32(aIn), b = AsF32(bIn);
  const Shape sa = BroadcastStrides(a.shape, shape), sb = BroadcastStrides(b.shape, shape);
  switch (op) {
    case BinaryOp::Add: Apply(a.F32(), b.F32(), out.F32(), shape, sa, sb, [](float x, float y) { return x + y; }); break;
    case BinaryOp::Sub: Apply(a.F32(), b.F32(), out.F32(), shape, sa, sb, [](float x, float y) { return x - y; }); break;
    case BinaryOp::Mul: Apply(a.F32(), b.F32(), out.F32(), shape, sa, sb, [](float x, float y) { return x * y; }); break;
    case BinaryOp::Div: Apply(a.F32(), b.F32(), out.F32(), shape, sa, sb, [](float x, float y) { return x / y; }); break;
  }
  return out;
}

Tensor Affine(const Tensor& xIn, float mul, float add, const Tensor* outIn) {
  if (gpu::On(xIn)) return gpu::Affine(xIn, mul, add, outIn);
  RequireCpu(xIn, "x");
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const float* xp = x.F32();
  float* yp = out.F32();
  ParallelFor(x.Numel(), 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = xp[i] * mul + add;
  });
  return out;
}

}  // namespace tessera
