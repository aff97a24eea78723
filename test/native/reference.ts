/**
 * Float64 reference implementations for the kernel tests, written from the definitions (not from the
 * kernels), plus seeded random inputs without zeros.
 */

import { rng } from '../support/rng.js';

/** Values in ±[0.05, scale], never zero, so a kernel that drops a term cannot pass by accident. */
export function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const magnitude = 0.05 + (scale - 0.05) * next();
    out[i] = next() < 0.5 ? -magnitude : magnitude;
  }
  return out;
}

export const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Largest |actual − expected| / (atol + rtol·|expected|); ≤ 1 means within tolerance everywhere. */
export function worstError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const a = actual[i] as number;
    const err = Number.isNaN(a) ? Number.POSITIVE_INFINITY : Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (err > worst) worst = err;
  }
  return worst;
}

export function linearRef(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | undefined,
  rows: number,
  k: number,
  n: number,
): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = b ? (b[j] as number) : 0;
      for (let i = 0; i < k; i++) s += (x[r * k + i] as number) * (w[j * k + i] as number);
      y[r * n + j] = s;
    }
  }
  return y;
}

export function layerNormRef(
  x: Float32Array,
  d: number,
  eps: number,
  w?: Float32Array,
  b?: Float32Array,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i] as number;
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += ((x[r * d + i] as number) - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) {
      y[r * d + i] =
        ((x[r * d + i] as number) - mean) * inv * (w ? (w[i] as number) : 1) + (b ? (b[i] as number) : 0);
    }
  }
  return y;
}

export function rmsNormRef(x: Float32Array, d: number, eps: number, w?: Float32Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let sq = 0;
    for (let i = 0; i < d; i++) sq += (x[r * d + i] as number) ** 2;
    const inv = 1 / Math.sqrt(sq / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] as number) * inv * (w ? (w[i] as number) : 1);
  }
  return y;
}

export function groupNormRef(
  x: Float32Array,
  n: number,
  c: number,
  spatial: number,
  groups: number,
  eps: number,
  w?: Float32Array,
  b?: Float32Array,
): Float64Array {
  const y = new Float64Array(x.length);
  const per = c / groups;
  for (let s = 0; s < n; s++) {
    for (let g = 0; g < groups; g++) {
      const start = (s * c + g * per) * spatial;
      const count = per * spatial;
      let mean = 0;
      for (let i = 0; i < count; i++) mean += x[start + i] as number;
      mean /= count;
      let v = 0;
      for (let i = 0; i < count; i++) v += ((x[start + i] as number) - mean) ** 2;
      const inv = 1 / Math.sqrt(v / count + eps);
      for (let i = 0; i < count; i++) {
        const ch = g * per + Math.floor(i / spatial);
        y[start + i] =
          ((x[start + i] as number) - mean) * inv * (w ? (w[ch] as number) : 1) + (b ? (b[ch] as number) : 0);
      }
    }
  }
  return y;
}

export const geluRef = (v: number): number =>
  0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
export const siluRef = (v: number): number => v / (1 + Math.exp(-v));

export function softmaxRef(x: ArrayLike<number>, d: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < d; i++) mx = Math.max(mx, x[r * d + i] as number);
    let sum = 0;
    for (let i = 0; i < d; i++) sum += Math.exp((x[r * d + i] as number) - mx);
    for (let i = 0; i < d; i++) y[r * d + i] = Math.exp((x[r * d + i] as number) - mx) / sum;
  }
  return y;
}

/** Direct attention over [B, S, H, D]: full score rows, exact softmax, and lse [B, H, Sq]. */
export function attentionRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  b: number,
  sq: number,
  sk: number,
  h: number,
  d: number,
  scale: number,
): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(b * sq * h * d);
  const lse = new Float64Array(b * h * sq);
  const scores = new Float64Array(sk);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let i = 0; i < sq; i++) {
        const qo = ((bi * sq + i) * h + hi) * d;
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < sk; j++) {
          const ko = ((bi * sk + j) * h + hi) * d;
          let s = 0;
          for (let e = 0; e < d; e++) s += (q[qo + e] as number) * (k[ko + e] as number);
          scores[j] = s * scale;
          mx = Math.max(mx, scores[j] as number);
        }
        let sum = 0;
        for (let j = 0; j < sk; j++) sum += Math.exp((scores[j] as number) - mx);
        lse[(bi * h + hi) * sq + i] = mx + Math.log(sum);
        for (let j = 0; j < sk; j++) {
          const p = Math.exp((scores[j] as number) - mx) / sum;
          const vo = ((bi * sk + j) * h + hi) * d;
          for (let e = 0; e < d; e++) out[qo + e] = (out[qo + e] as number) + p * (v[vo + e] as number);
        }
      }
    }
  }
  return { out, lse };
}

export function ropeRef(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  b: number,
  s: number,
  h: number,
  d: number,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < b * s; t++) {
    const pos = t % s;
    for (let hi = 0; hi < h; hi++) {
      const o = (t * h + hi) * d;
      for (let i = 0; i < d; i += 2) {
        const x0 = x[o + i] as number;
        const x1 = x[o + i + 1] as number;
        y[o + i] = x0 * (cos[pos * d + i] as number) - x1 * (sin[pos * d + i] as number);
        y[o + i + 1] = x1 * (cos[pos * d + i + 1] as number) + x0 * (sin[pos * d + i + 1] as number);
      }
    }
  }
  return y;
}

export function conv2dRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  [n, c, h, wd]: readonly [number, number, number, number],
  [o, kh, kw]: readonly [number, number, number],
  stride: number,
  pad: number,
): { out: Float64Array; shape: number[] } {
  const ho = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const wo = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const out = new Float64Array(n * o * ho * wo);
  for (let s = 0; s < n; s++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < ho; y++)
        for (let xo = 0; xo < wo; xo++) {
          let acc = bias ? (bias[oc] as number) : 0;
          for (let ic = 0; ic < c; ic++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * stride - pad + ky;
                const ix = xo * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc +=
                  (x[((s * c + ic) * h + iy) * wd + ix] as number) *
                  (w[((oc * c + ic) * kh + ky) * kw + kx] as number);
              }
          out[((s * o + oc) * ho + y) * wo + xo] = acc;
        }
  return { out, shape: [n, o, ho, wo] };
}

/** Element of a row-major tensor at a multi-index. */
export function at(data: ArrayLike<number>, shape: readonly number[], index: readonly number[]): number {
  let offset = 0;
  for (let i = 0; i < shape.length; i++) offset = offset * (shape[i] as number) + (index[i] as number);
  return data[offset] as number;
}

/** All multi-indices of a shape in row-major order. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  const total = product(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let n = 0; n < total; n++) {
    yield [...idx];
    for (let a = shape.length - 1; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1;
      if ((idx[a] as number) < (shape[a] as number)) break;
      idx[a] = 0;
    }
  }
}
