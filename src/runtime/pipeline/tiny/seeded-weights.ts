/**
 * Seeded random weights for tiny generated checkpoints: every tensor of a manifest filled by name from a
 * generator seeded by (seed, name), so values do not depend on the order tensors are written. Linear and
 * convolution weights ~ N(0, 1/fan_in), embeddings ~ N(0, 1), 1-D weights (norms) ~ 1 + 0.1·N, biases
 * ~ 0.1·N: activations stay O(1) through every layer.
 */
import { Tensor } from '../../native/index.js';
import { writeSafetensors } from '../../native/safetensors-writer.js';

function hash(text: string, seed: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Standard normals from mulberry32 + Box-Muller. */
export function normals(seed: number, count: number): Float32Array {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

export function seededTensor(name: string, shape: readonly number[], seed: number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const values = normals(hash(name, seed), count);
  const isBias = name.endsWith('.bias');
  const isEmbedding = /embedding|shared\.weight|relative_attention_bias/.test(name);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    const v = values[i] as number;
    if (isBias) values[i] = 0.1 * v;
    else if (shape.length === 1) values[i] = 1 + 0.1 * v;
    else if (isEmbedding) values[i] = v;
    else values[i] = v / Math.sqrt(fanIn);
  }
  return Tensor.fromArray(values, shape);
}

/** Writes every (name, shape) as seeded f32 weights into one safetensors file. */
export function writeSeededWeights(
  path: string,
  tensors: readonly { name: string; shape: number[] }[],
  seed: number,
): void {
  writeSafetensors(path, new Map(tensors.map((t) => [t.name, seededTensor(t.name, t.shape, seed)])));
}
