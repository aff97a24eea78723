// Element-wise activations (f32). In place when out is x. GELU (tanh) and SiLU run in the dispatcher's
// kernel table (kernels/cpu): written with explicit vectors there because GCC does not vectorize the
// exp-based loops for AVX2 on its own (it did only for AVX-512, through masking).
#include "kernels/cpu/dispatch.h"
#include "kernels/cuda_dispatch.h"
#include "kernels/elementwise_map.h"
#include "kernels/kernels.h"

namespace tessera {

Tensor GeluTanh(const Tensor& x, const Tensor* out) {
  if (gpu::On(x)) return gpu::GeluTanh(x, out);
  return MapUnary(x, out, "gelu x", cpu::ActiveDispatch().kernels->geluTanh);
}

Tensor Silu(const Tensor& x, const Tensor* out) {
  if (gpu::On(x)) return gpu::Silu(x, out);
  return MapUnary(x, out, "silu x", cpu::ActiveDispatch().kernels->silu);
}

}  // namespace tessera
