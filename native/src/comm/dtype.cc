#include "comm/communicator.h"
#include "util/errors.h"

namespace tessera::comm {

std::size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF64:
    case DType::kI64:
      return 8;
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kI8:
    case DType::kU8:
      return 1;
  }
  return 1;
}

DType ParseDType(const std::string& name) {
  if (name == "f32") return DType::kF32;
  if (name == "f64") return DType::kF64;
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  if (name == "i8") return DType::kI8;
  if (name == "u8") return DType::kU8;
  if (name == "i32") return DType::kI32;
  if (name == "i64") return DType::kI64;
  FailType("unknown dtype '" + name + "' (expected f32, f64, f16, bf16, i8, u8, i32 or i64)");
}

ReduceOp ParseReduceOp(const std::string& name) {
  if (name == "sum") return ReduceOp::kSum;
  if (name == "max") return ReduceOp::kMax;
  FailType("unknown reduce op '" + name + "' (expected sum or max)");
}

}  // namespace tessera::comm
