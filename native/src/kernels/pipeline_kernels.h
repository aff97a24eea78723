// CPU kernels the prompt-to-image pipeline adds: the exact activations of the text encoders, and
// GroupNorm split into statistics and application so that patch-parallel VAE decoding can reduce the
// statistics of the whole image across ranks. Same conventions as kernels.h (any input layout and dtype,
// contiguous f32 results, optional `out`). No CUDA versions yet: on 'cuda' tensors they fail with the
// reason (RequireCpu).
#pragma once

#include "tensor/tensor.h"

namespace tessera {

// ---- text_activations.cc ----
Tensor GeluErf(const Tensor& x, const Tensor* out);    // 0.5·x·(1 + erf(x/√2)): CLIP-G's "gelu"
Tensor QuickGelu(const Tensor& x, const Tensor* out);  // x·σ(1.702·x): CLIP-L's "quick_gelu"

// ---- group_norm_parts.cc: x [N, C, ...], `groups` consecutive channel groups ----
// Per (sample, group): the mean and the sum of squared deviations from it (M2), as [N, G, 2] f32, computed
// in double. Partial results of disjoint parts of an image combine exactly (Chan et al.).
Tensor GroupNormStats(const Tensor& x, int64_t groups);
// (x − mean)·rstd·weight + bias with mean and rstd [N, G] given.
Tensor GroupNormApply(const Tensor& x, int64_t groups, const Tensor& mean, const Tensor& rstd, const Tensor* weight,
                      const Tensor* bias, const Tensor* out);

}  // namespace tessera
