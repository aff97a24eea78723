// Element-wise reductions for gloo's allreduce, one per (dtype, op). gloo ships sum/max only for
// built-in types and has no bfloat16, so half types widen to f32, reduce, and round back.
#pragma once

#include <cstddef>
#include <functional>

#include "comm/communicator.h"

namespace tessera::comm {

using ReduceFn = std::function<void(void* out, const void* a, const void* b, std::size_t n)>;

ReduceFn ReduceFunction(DType dtype, ReduceOp op);

}  // namespace tessera::comm
