#include "tensor/tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/cuda_dispatch.h"
#include "util/errors.h"
#include "util/half.h"
#include "util/thread_pool.h"

namespace tessera {

std::string ShapeString(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Shape ContiguousStrides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

bool Tensor::IsContiguous() const {
  int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

std::string Tensor::Describe() const { return std::string(DTypeName(dtype)) + ShapeString(shape); }

namespace {

void ValidateShape(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) FailType("shape " + ShapeString(shape) + " has a negative dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 16 / d) {
      FailType("shape " + ShapeString(shape) + " is too large");
    }
    n *= d;
  }
}

Tensor Allocate(const Shape& shape, DType dtype, Device device, bool zeroed) {
  ValidateShape(shape);
  Tensor t;
  t.shape = shape;
  t.strides = ContiguousStrides(shape);
  t.dtype = dtype;
  t.storage = Storage::Allocate(device, static_cast<std::size_t>(NumElements(shape)) * DTypeSize(dtype), zeroed);
  return t;
}

float LoadAs(const void* p, DType t) {
  switch (t) {
    case DType::F32: return *static_cast<const float*>(p);
    case DType::BF16: return Bf16ToF32(*static_cast<const uint16_t*>(p));
    case DType::F16: return F16ToF32(*static_cast<const uint16_t*>(p));
  }
  return 0;
}

void StoreAs(void* p, DType t, float v) {
  switch (t) {
    case DType::F32: *static_cast<float*>(p) = v; return;
    case DType::BF16: *static_cast<uint16_t*>(p) = F32ToBf16(v); return;
    case DType::F16: *static_cast<uint16_t*>(p) = F32ToF16(v); return;
  }
}

// Converts n contiguous elements; separate loops per pair so each vectorizes.
void ConvertRun(const void* src, DType st, void* dst, DType dt, int64_t n) {
  if (st == dt) {
    std::memcpy(dst, src, static_cast<std::size_t>(n) * DTypeSize(st));
    return;
  }
  if (dt == DType::F32) {
    auto* d = static_cast<float*>(dst);
    const auto* s = static_cast<const uint16_t*>(src);
    if (st == DType::BF16) {
      for (int64_t i = 0; i < n; ++i) d[i] = Bf16ToF32(s[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) d[i] = F16ToF32(s[i]);
    }
    return;
  }
  if (st == DType::F32) {
    const auto* s = static_cast<const float*>(src);
    auto* d = static_cast<uint16_t*>(dst);
    if (dt == DType::BF16) {
      for (int64_t i = 0; i < n; ++i) d[i] = F32ToBf16(s[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) d[i] = F32ToF16(s[i]);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    StoreAs(static_cast<char*>(dst) + i * 2, dt, LoadAs(static_cast<const char*>(src) + i * 2, st));
  }
}

}  // namespace

Tensor Empty(const Shape& shape, DType dtype, Device device) { return Allocate(shape, dtype, device, false); }
Tensor Zeros(const Shape& shape, DType dtype, Device device) { return Allocate(shape, dtype, device, true); }

int64_t NormalizeAxis(int64_t axis, int64_t dims, const char* what) {
  const int64_t a = axis < 0 ? axis + dims : axis;
  if (a < 0 || a >= dims) {
    FailType(std::string(what) + ": axis " + std::to_string(axis) + " is out of range for " +
             std::to_string(dims) + " dimensions");
  }
  return a;
}

void RequireCpu(const Tensor& t, const char* name) {
  if (!t.storage) FailType(std::string(name) + ": tensor has been released");
  if (t.GetDevice() != Device::Cpu) {
    Fail(std::string(name) + ": this kernel runs on the CPU, the tensor is on 'cuda'");
  }
}

void RequireShape(const Tensor& t, const Shape& shape, const char* name) {
  if (t.shape != shape) {
    FailType(std::string(name) + ": expected shape " + ShapeString(shape) + ", got " + ShapeString(t.shape));
  }
}

void RequireOut(const Tensor& out, const Shape& shape) {
  RequireCpu(out, "out");
  if (out.dtype != DType::F32) FailType("out: must be f32, got " + std::string(DTypeName(out.dtype)));
  RequireShape(out, shape, "out");
  if (!out.IsContiguous()) FailType("out: must be contiguous");
}

Tensor Narrow(const Tensor& t, int64_t axis, int64_t start, int64_t length) {
  const int64_t a = NormalizeAxis(axis, t.Dim(), "narrow");
  const int64_t size = t.Size(a);
  if (start < 0 || length < 0 || start > size || length > size - start) {
    FailType("narrow: range [" + std::to_string(start) + ", " + std::to_string(start + length) +
             ") is outside axis " + std::to_string(a) + " of size " + std::to_string(size));
  }
  Tensor v = t;
  v.offset += start * t.strides[static_cast<std::size_t>(a)];
  v.shape[static_cast<std::size_t>(a)] = length;
  return v;
}

Tensor Permute(const Tensor& t, const std::vector<int64_t>& order) {
  if (static_cast<int64_t>(order.size()) != t.Dim()) {
    FailType("permute: order has " + std::to_string(order.size()) + " axes, tensor has " +
             std::to_string(t.Dim()));
  }
  std::vector<bool> seen(order.size(), false);
  Tensor v = t;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int64_t a = NormalizeAxis(order[i], t.Dim(), "permute");
    if (seen[static_cast<std::size_t>(a)]) FailType("permute: axis " + std::to_string(a) + " appears twice");
    seen[static_cast<std::size_t>(a)] = true;
    v.shape[i] = t.shape[static_cast<std::size_t>(a)];
    v.strides[i] = t.strides[static_cast<std::size_t>(a)];
  }
  return v;
}

Tensor ViewAs(const Tensor& t, const Shape& requested) {
  if (!t.IsContiguous()) FailType("reshape: a view needs a contiguous tensor (call contiguous() first)");
  Shape shape = requested;
  int64_t known = 1;
  int inferred = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) FailType("reshape: more than one -1 in " + ShapeString(requested));
      inferred = static_cast<int>(i);
    } else if (shape[i] < 0) {
      FailType("reshape: negative dimension in " + ShapeString(requested));
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || t.Numel() % known != 0) {
      FailType("reshape: cannot infer -1 in " + ShapeString(requested) + " for " + t.Describe());
    }
    shape[static_cast<std::size_t>(inferred)] = t.Numel() / known;
  }
  if (NumElements(shape) != t.Numel()) {
    FailType("reshape: " + t.Describe() + " has " + std::to_string(t.Numel()) + " elements, " +
             ShapeString(requested) + " needs " + std::to_string(NumElements(shape)));
  }
  Tensor v = t;
  v.shape = shape;
  v.strides = ContiguousStrides(shape);
  return v;
}

void CopyInto(const Tensor& src, const Tensor& dst) {
  if (!src.storage) FailType("copy source: tensor has been released");
  if (!dst.storage) FailType("copy destination: tensor has been released");
  if (gpu::On(src) || gpu::On(dst)) return gpu::CopyInto(src, dst);
  RequireCpu(src, "copy source");
  RequireCpu(dst, "copy destination");
  if (src.shape != dst.shape) {
    FailType("copy: shapes differ: " + src.Describe() + " into " + dst.Describe());
  }
  const int64_t n = src.Numel();
  if (n == 0) return;
  if (src.IsContiguous() && dst.IsContiguous()) {
    const int64_t grain = 1 << 16;
    ParallelFor(n, grain, [&](int64_t b, int64_t e) {
      ConvertRun(static_cast<const char*>(src.Raw()) + b * DTypeSize(src.dtype), src.dtype,
                 static_cast<char*>(dst.Raw()) + b * DTypeSize(dst.dtype), dst.dtype, e - b);
    });
    return;
  }
  // Strided: iterate over all but the last axis ("rows"); the last axis is a strided run.
  const int64_t dims = src.Dim();
  const int64_t inner = dims == 0 ? 1 : src.shape.back();
  const int64_t rows = inner == 0 ? 0 : n / inner;
  const int64_t ss = dims == 0 ? 1 : src.strides.back();
  const int64_t ds = dims == 0 ? 1 : dst.strides.back();
  const std::size_t se = DTypeSize(src.dtype), de = DTypeSize(dst.dtype);
  ParallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      int64_t rem = row, so = 0, dof = 0;
      for (int64_t a = dims - 2; a >= 0; --a) {
        const int64_t i = rem % src.shape[static_cast<std::size_t>(a)];
        rem /= src.shape[static_cast<std::size_t>(a)];
        so += i * src.strides[static_cast<std::size_t>(a)];
        dof += i * dst.strides[static_cast<std::size_t>(a)];
      }
      const char* sp = static_cast<const char*>(src.Raw()) + so * static_cast<int64_t>(se);
      char* dp = static_cast<char*>(dst.Raw()) + dof * static_cast<int64_t>(de);
      if (ss == 1 && ds == 1) {
        ConvertRun(sp, src.dtype, dp, dst.dtype, inner);
      } else if (src.dtype == DType::F32 && dst.dtype == DType::F32) {
        const auto* s = reinterpret_cast<const float*>(sp);
        auto* d = reinterpret_cast<float*>(dp);
        for (int64_t i = 0; i < inner; ++i) d[i * ds] = s[i * ss];
      } else {
        for (int64_t i = 0; i < inner; ++i) {
          StoreAs(dp + i * ds * static_cast<int64_t>(de), dst.dtype, LoadAs(sp + i * ss * static_cast<int64_t>(se), src.dtype));
        }
      }
    }
  });
}

Tensor Contiguous(const Tensor& t) {
  if (t.IsContiguous()) return t;
  if (gpu::On(t)) return gpu::Dense(t, t.dtype);
  Tensor out = Empty(t.shape, t.dtype, t.GetDevice());
  CopyInto(t, out);
  return out;
}

Tensor ToDType(const Tensor& t, DType dtype) {
  if (t.dtype == dtype && t.IsContiguous()) return t;
  if (gpu::On(t)) return gpu::Dense(t, dtype);
  Tensor out = Empty(t.shape, dtype, t.GetDevice());
  CopyInto(t, out);
  return out;
}

Tensor AsF32(const Tensor& t) { return ToDType(t, DType::F32); }

}  // namespace tessera
