/**
 * Initial noise as Diffusers users know it: for the same seed, latent shape and dtype, the values equal
 * `randn_tensor(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=dtype)` bit for bit, so a
 * request to Tessera and the same call to a Diffusers pipeline start from the same latents. The sampling
 * is torch's own (native/src/random/torch_generator.h); which of torch's two float32 kernels it follows
 * is torch's choice on this CPU unless `path` says otherwise.
 */
import { type DType, pipelineOps, type Tensor } from '../native/index.js';
import type { TorchNormalPath } from '../native/pipeline-ops.js';

/** Seeds torch accepts from JSON numbers: non-negative safe integers (only the low 32 bits matter to torch). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export class SeedError extends Error {
  override readonly name = 'SeedError';
}

export function checkSeed(seed: number, field = 'seed'): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new SeedError(`${field} must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
  }
  return seed;
}

export interface NoiseRequest {
  seed: number;
  /** The latent shape the pipeline's prepare_latents draws, e.g. [B, 16, h, w]. */
  shape: readonly number[];
  /** The pipeline's dtype (the transformer's weights: f32 on CPU, bf16 on GPU). */
  dtype: DType;
  path?: TorchNormalPath;
}

export function seededNoise({ seed, shape, dtype, path }: NoiseRequest): Tensor {
  return pipelineOps.torchRandn(checkSeed(seed), shape, dtype, path);
}
