/** Benchmark inputs: the numbers only need to be finite, O(1) and the same on every run. */
import { Tensor } from '../../src/runtime/native/index.js';

/** Uniform values in ±scale from a fixed LCG seeded with `seed`. */
export function randomTensor(shape: readonly number[], scale: number, seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = (state / 2 ** 32 - 0.5) * 2 * scale;
  }
  return Tensor.fromArray(data, shape);
}
