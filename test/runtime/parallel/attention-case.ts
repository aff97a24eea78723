/** The inputs of one raw-attention case, built identically in the test and in every rank. */
import { Tensor } from '../../../src/runtime/native/index.js';
import { seededValues } from './harness.js';

export interface AttentionCase {
  ulysses: number;
  ring: number;
  batch: number;
  imageTokens: number;
  textTokens: number;
  textPosition: 'front' | 'rear';
  heads: number;
  headDim: number;
}

export function caseTensors(c: AttentionCase): { q: Tensor; k: Tensor; v: Tensor } {
  const shape = [c.batch, c.imageTokens + c.textTokens, c.heads, c.headDim];
  const n = shape.reduce((a, b) => a * b, 1);
  // Scaled so the softmax is far from uniform: a merge error would show.
  const make = (seed: number, scale: number) => {
    const values = seededValues(seed, n);
    for (let i = 0; i < n; i++) values[i] = (values[i] as number) * scale;
    return Tensor.fromArray(values, shape);
  };
  return { q: make(1, 2), k: make(2, 2), v: make(3, 1) };
}
