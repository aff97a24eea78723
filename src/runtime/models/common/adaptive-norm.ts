/**
 * Adaptive LayerNorms: a Linear on SiLU(temb) yields per-sample modulation vectors, in an order that
 * differs per class (runtime.md "ordering traps"):
 * - AdaLayerNormZero (6): shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
 * - SD35AdaLayerNormZeroX (9): the 6 above, then shift_msa2, scale_msa2, gate_msa2
 * - AdaLayerNormZeroSingle (3): shift, scale, gate
 * - AdaLayerNormContinuous (2): scale, shift  ← scale FIRST
 * The norm itself is LayerNorm without affine, eps 1e-6.
 */
import { ops, type Tensor } from '../../native/index.js';
import { Linear } from './linear.js';
import type { WeightLookup } from './weights.js';

export const NORM_EPS = 1e-6;

/** Chunks of the modulation vector, each a [B, D] view. */
export type Modulation = Tensor[];

/** Linear(SiLU(temb)) cut into `chunks` equal [B, D] views (the caller releases them with `releaseAll`). */
export class ModulationProjection {
  private readonly linear: Linear;

  constructor(
    weights: WeightLookup,
    name: string,
    readonly chunks: number,
  ) {
    this.linear = Linear.load(weights, name);
    if (this.linear.outFeatures % chunks !== 0) {
      throw new Error(`${name}.weight has ${this.linear.outFeatures} rows, not a multiple of ${chunks}`);
    }
  }

  /** `activatedTemb` is SiLU(temb), computed once per forward and shared by every block. */
  apply(activatedTemb: Tensor): Modulation {
    const all = this.linear.apply(activatedTemb);
    const views = all.split(this.chunks, 1);
    all.release();
    return views;
  }
}

/** LayerNorm(x)·(1 + scale) + shift, modulating in place of the normalised copy. */
export function normModulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  const normed = ops.layerNorm(x, { eps: NORM_EPS });
  return ops.modulate(normed, shift, scale, normed);
}

export function releaseAll(tensors: readonly Tensor[]): void {
  for (const t of tensors) t.release();
}

/** AdaLayerNormContinuous: (scale, shift) = Linear(SiLU(c)); LN(x)·(1+scale)+shift. */
export class AdaLayerNormContinuous {
  private readonly projection: ModulationProjection;

  constructor(weights: WeightLookup, name: string) {
    this.projection = new ModulationProjection(weights, `${name}.linear`, 2);
  }

  apply(x: Tensor, activatedTemb: Tensor): Tensor {
    const [scale, shift] = this.projection.apply(activatedTemb) as [Tensor, Tensor];
    const y = normModulate(x, shift, scale);
    releaseAll([scale, shift]);
    return y;
  }
}
