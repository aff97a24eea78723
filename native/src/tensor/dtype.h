// Storage element types of a Tensor. Compute is f32; bf16 and f16 are storage formats.
#pragma once

#include <cstddef>
#include <string>

#include "util/errors.h"

namespace tessera {

enum class DType { F32, BF16, F16 };

inline std::size_t DTypeSize(DType t) { return t == DType::F32 ? 4 : 2; }

inline const char* DTypeName(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
  }
  return "?";
}

inline DType ParseDType(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "bf16") return DType::BF16;
  if (name == "f16") return DType::F16;
  FailType("dtype must be 'f32', 'bf16' or 'f16', got '" + name + "'");
}

}  // namespace tessera
