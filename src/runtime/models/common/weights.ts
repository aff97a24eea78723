/**
 * The weights a model is built from: tensors by their Diffusers state-dict name; matrices in f32 or in the
 * checkpoint's bf16/f16 where the CPU's GEMMs read it directly (model-loader), everything else in f32. A
 * scope reads one block's tensors without repeating its prefix.
 */
import type { Tensor } from '../../native/index.js';

export interface WeightLookup {
  /** The tensor named `name`; throws naming it when absent. */
  get(name: string): Tensor;
  has(name: string): boolean;
}

export class ModelWeightsError extends Error {
  override readonly name = 'ModelWeightsError';
}

/** A plain name → tensor map (what the loader produces). */
export class WeightMap implements WeightLookup {
  constructor(
    private readonly tensors: ReadonlyMap<string, Tensor>,
    /** Where the tensors came from, for messages. */
    private readonly source: string,
  ) {}

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) {
      throw new ModelWeightsError(
        `${this.source}: tensor "${name}" was not loaded (is it outside this rank's blocks, or missing from the checkpoint?)`,
      );
    }
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The names held (this rank's share of the checkpoint). */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  /** Frees every tensor's native memory now instead of waiting for the garbage collector. */
  release(): void {
    for (const t of this.tensors.values()) t.release();
  }
}

/** The same lookup with a name prefix, e.g. "transformer_blocks.3.". */
export function scoped(weights: WeightLookup, prefix: string): WeightLookup {
  return {
    get: (name) => weights.get(prefix + name),
    has: (name) => weights.has(prefix + name),
  };
}
