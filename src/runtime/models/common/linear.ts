/** nn.Linear over the native GEMM: y = x·Wᵀ + b with W [out, in] as stored by PyTorch. */
import { ops, type Tensor } from '../../native/index.js';
import type { WeightLookup } from './weights.js';

export class Linear {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor | undefined,
  ) {}

  /** Reads `<name>.weight` and, when `withBias`, `<name>.bias`. */
  static load(weights: WeightLookup, name: string, withBias = true): Linear {
    return new Linear(weights.get(`${name}.weight`), withBias ? weights.get(`${name}.bias`) : undefined);
  }

  get outFeatures(): number {
    return this.weight.size(0);
  }

  apply(x: Tensor, out?: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias, out);
  }
}
