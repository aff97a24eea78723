/** Diffusers' FeedForward with activation "gelu-approximate": Linear(D→4D) → GELU(tanh) → Linear(4D→D). */
import { ops, type Tensor } from '../../native/index.js';
import { Linear } from './linear.js';
import type { WeightLookup } from './weights.js';

export class FeedForward {
  private readonly up: Linear;
  private readonly down: Linear;

  /** `prefix` is e.g. "ff" or "ff_context" (tensors `<prefix>.net.0.proj.*`, `<prefix>.net.2.*`). */
  constructor(weights: WeightLookup, prefix: string) {
    this.up = Linear.load(weights, `${prefix}.net.0.proj`);
    this.down = Linear.load(weights, `${prefix}.net.2`);
  }

  apply(x: Tensor): Tensor {
    const hidden = this.up.apply(x);
    ops.gelu(hidden, hidden);
    const y = this.down.apply(hidden);
    hidden.release();
    return y;
  }
}
