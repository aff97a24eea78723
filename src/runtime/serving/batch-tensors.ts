/** Joining the requests of a batch along the sample dimension, and splitting the result back. */
import type { F32Tensor, GenerationRequest } from './executor.js';

/** The named tensor of every request, concatenated along dimension 0; undefined when no request has it. */
export function concatSamples(batch: readonly GenerationRequest[], name: string): F32Tensor | undefined {
  const parts = batch.map((r) => r.tensors.get(name));
  const first = parts[0];
  if (first === undefined) return undefined;
  if (parts.some((p) => p === undefined)) {
    throw new Error(`${name} is in some requests of the batch but not all (the batch key should prevent it)`);
  }
  const present = parts as F32Tensor[];
  const data = new Float32Array(present.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const part of present) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  const samples = present.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
  return { shape: [samples, ...first.shape.slice(1)], data };
}

/** Splits [Σ sizes, ...] into one tensor per request, `sizes[i]` samples each, in order. */
export function splitSamples(whole: F32Tensor, sizes: readonly number[]): F32Tensor[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (whole.shape[0] !== total) {
    throw new Error(`the result has ${whole.shape[0]} samples, the batch ${total}`);
  }
  const perSample = whole.shape.slice(1).reduce((a, b) => a * b, 1);
  let offset = 0;
  return sizes.map((size) => {
    const data = whole.data.slice(offset * perSample, (offset + size) * perSample);
    offset += size;
    return { shape: [size, ...whole.shape.slice(1)], data };
  });
}
