#include "comm/reduce_kernels.h"

#include <algorithm>
#include <cstdint>

#include "util/half.h"

namespace tessera::comm {

namespace {

template <typename T, ReduceOp Op>
void ReduceNative(void* out, const void* a, const void* b, std::size_t n) {
  T* o = static_cast<T*>(out);
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  for (std::size_t i = 0; i < n; ++i) o[i] = Op == ReduceOp::kSum ? static_cast<T>(x[i] + y[i]) : std::max(x[i], y[i]);
}

template <float (*ToF32)(uint16_t), uint16_t (*FromF32)(float), ReduceOp Op>
void ReduceHalf(void* out, const void* a, const void* b, std::size_t n) {
  uint16_t* o = static_cast<uint16_t*>(out);
  const uint16_t* x = static_cast<const uint16_t*>(a);
  const uint16_t* y = static_cast<const uint16_t*>(b);
  for (std::size_t i = 0; i < n; ++i) {
    const float fx = ToF32(x[i]);
    const float fy = ToF32(y[i]);
    o[i] = FromF32(Op == ReduceOp::kSum ? fx + fy : std::max(fx, fy));
  }
}

template <ReduceOp Op>
ReduceFn ForOp(DType dtype) {
  switch (dtype) {
    case DType::kF32: return ReduceNative<float, Op>;
    case DType::kF64: return ReduceNative<double, Op>;
    case DType::kI8: return ReduceNative<int8_t, Op>;
    case DType::kU8: return ReduceNative<uint8_t, Op>;
    case DType::kI32: return ReduceNative<int32_t, Op>;
    case DType::kI64: return ReduceNative<int64_t, Op>;
    case DType::kF16: return ReduceHalf<F16ToF32, F32ToF16, Op>;
    case DType::kBF16: return ReduceHalf<Bf16ToF32, F32ToBf16, Op>;
  }
  return ReduceNative<float, Op>;
}

}  // namespace

ReduceFn ReduceFunction(DType dtype, ReduceOp op) {
  return op == ReduceOp::kSum ? ForOp<ReduceOp::kSum>(dtype) : ForOp<ReduceOp::kMax>(dtype);
}

}  // namespace tessera::comm
