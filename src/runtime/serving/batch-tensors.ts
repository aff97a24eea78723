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
  return joinSamples(parts as F32Tensor[]);
}

/** Tensors of equal sample shape (at least one), concatenated along dimension 0. */
export function joinSamples(parts: readonly F32Tensor[]): F32Tensor {
  const first = parts[0];
  if (first === undefined) throw new Error('joinSamples needs at least one tensor');
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  const samples = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
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

/** `t` grown to `samples` samples by repeating its last sample (a no-op when it has enough). */
export function padSamples(t: F32Tensor, samples: number): F32Tensor {
  const have = t.shape[0] ?? 0;
  if (samples <= have) return t;
  const perSample = t.data.length / Math.max(1, have);
  const data = new Float32Array(samples * perSample);
  data.set(t.data);
  const last = t.data.subarray((have - 1) * perSample);
  for (let s = have; s < samples; s++) data.set(last, s * perSample);
  return { shape: [samples, ...t.shape.slice(1)], data };
}

/** The first `samples` samples of `t`. */
export function firstSamples(t: F32Tensor, samples: number): F32Tensor {
  if ((t.shape[0] ?? 0) === samples) return t;
  const perSample = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { shape: [samples, ...t.shape.slice(1)], data: t.data.subarray(0, samples * perSample) };
}
