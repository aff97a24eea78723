/**
 * Conditioning embeddings shared by Flux and SD3 (diffusers `Timesteps`, `TimestepEmbedding`,
 * `PixArtAlphaTextProjection`).
 */
import { ops, Tensor } from '../../native/index.js';
import { Linear } from './linear.js';
import type { Placement } from './placement.js';
import type { WeightLookup } from './weights.js';

/** Width of the sinusoidal projection; fixed at 256 in both models. */
export const TIMESTEP_CHANNELS = 256;
const MAX_PERIOD = 10000;

/**
 * `get_timestep_embedding(t, 256, flip_sin_to_cos=True, downscale_freq_shift=0)` → [B, 256] laid out as
 * [cos(t·ω_0..127), sin(t·ω_0..127)] (the flip puts cos first). Every intermediate is rounded to float32
 * where torch computes in float32, because t reaches 1000 and the rounding of t·ω moves sin/cos by ~1e-5.
 */
export function timestepSinusoid(timesteps: readonly number[]): Tensor {
  const half = TIMESTEP_CHANNELS / 2;
  const f32 = Math.fround;
  const negLogPeriod = f32(-Math.log(MAX_PERIOD));
  const freqs = Array.from({ length: half }, (_, j) => f32(Math.exp(f32(f32(negLogPeriod * j) / half))));
  const out = new Float32Array(timesteps.length * TIMESTEP_CHANNELS);
  timesteps.forEach((t, b) => {
    const row = b * TIMESTEP_CHANNELS;
    freqs.forEach((w, j) => {
      const arg = f32(f32(t) * w);
      out[row + j] = Math.cos(arg);
      out[row + half + j] = Math.sin(arg);
    });
  });
  return Tensor.fromArray(out, [timesteps.length, TIMESTEP_CHANNELS]);
}

/**
 * The same projection computed where the model runs, in its activation dtype (diffusers casts the f32
 * projection to the transformer's dtype): on the GPU the values travel as kernel arguments, so a step's
 * conditioning makes no host→device copy. On the CPU it gives timestepSinusoid's bits (step-kernels test).
 */
export function timestepProjection(timesteps: readonly number[], placement: Placement): Tensor {
  return ops.timestepSinusoid(timesteps, {
    channels: TIMESTEP_CHANNELS,
    maxPeriod: MAX_PERIOD,
    device: placement.device,
    dtype: placement.dtype,
  });
}

/** linear_1 → SiLU → linear_2 (TimestepEmbedding, and PixArtAlphaTextProjection with act "silu"). */
export class TwoLayerMlp {
  private readonly first: Linear;
  private readonly second: Linear;

  constructor(weights: WeightLookup, prefix: string) {
    this.first = Linear.load(weights, `${prefix}.linear_1`);
    this.second = Linear.load(weights, `${prefix}.linear_2`);
  }

  apply(x: Tensor): Tensor {
    const hidden = this.first.apply(x);
    ops.silu(hidden, hidden);
    const y = this.second.apply(hidden);
    hidden.release();
    return y;
  }
}

/** The values of a [B] (or [B, 1]) tensor such as `timestep` or `guidance`, as float32 numbers. */
export function scalarsPerSample(t: Tensor, name: string, batch: number): number[] {
  if (t.numel !== batch || t.rank > 2) {
    throw new Error(`${name} must hold one value per sample ([${batch}]), got shape [${t.shape.join(', ')}]`);
  }
  return Array.from(t.toFloat32Array());
}
