#include "kernels/kernels.h"

namespace tessera {

Tensor PrepareOut(const Tensor* out, const Shape& shape) {
  if (out == nullptr) return Empty(shape, DType::F32);
  RequireOut(*out, shape);
  return *out;
}

void RequireNoAlias(const Tensor& out, const Tensor& input, const char* inputName) {
  if (out.storage && out.storage == input.storage) {
    FailType(std::string("out: must not share memory with ") + inputName + " for this kernel");
  }
}

}  // namespace tessera
