// The tensor value type: storage + element offset + shape + strides (in elements) + dtype. Views share
// storage; kernels read any layout through AsF32/Contiguous and write contiguous f32 outputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/storage.h"

namespace tessera {

using Shape = std::vector<int64_t>;

std::string ShapeString(const Shape& shape);
int64_t NumElements(const Shape& shape);
Shape ContiguousStrides(const Shape& shape);

struct Tensor {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;  // in elements
  DType dtype = DType::F32;

  int64_t Numel() const { return NumElements(shape); }
  int64_t Dim() const { return static_cast<int64_t>(shape.size()); }
  int64_t Size(int64_t axis) const { return shape[static_cast<std::size_t>(axis)]; }
  bool IsContiguous() const;
  Device GetDevice() const { return storage ? storage->GetDevice() : Device::Cpu; }
  void* Raw() const {
    return static_cast<char*>(storage->Data()) + static_cast<std::size_t>(offset) * DTypeSize(dtype);
  }
  float* F32() const { return static_cast<float*>(Raw()); }
  std::string Describe() const;  // "f32[2, 3]"
};

// Allocation. `device` Cuda throws until the CUDA backend is present.
Tensor Empty(const Shape& shape, DType dtype, Device device = Device::Cpu);
Tensor Zeros(const Shape& shape, DType dtype, Device device = Device::Cpu);

// Views (no copy).
Tensor Narrow(const Tensor& t, int64_t axis, int64_t start, int64_t length);
Tensor Permute(const Tensor& t, const std::vector<int64_t>& order);
Tensor ViewAs(const Tensor& t, const Shape& shape);  // contiguous input only; -1 infers one dimension

// Copies.
void CopyInto(const Tensor& src, const Tensor& dst);  // same shape; any layouts and dtypes
Tensor Contiguous(const Tensor& t);                   // returns t itself when already contiguous
Tensor ToDType(const Tensor& t, DType dtype);         // contiguous copy (or t itself when nothing changes)
Tensor AsF32(const Tensor& t);                        // contiguous f32 (t itself when it already is)

// Argument checks shared by the kernels; messages name the argument.
int64_t NormalizeAxis(int64_t axis, int64_t dims, const char* what);
void RequireCpu(const Tensor& t, const char* name);
void RequireShape(const Tensor& t, const Shape& shape, const char* name);
// An `out` tensor must be contiguous f32 of the given shape on the CPU.
void RequireOut(const Tensor& out, const Shape& shape);

}  // namespace tessera
