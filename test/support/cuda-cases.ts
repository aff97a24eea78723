/**
 * The CUDA kernel cases shared by the GPU suite (test/gpu/cuda-kernels.test.ts: each CUDA kernel against
 * these float64 references) and the CPU suite (test/native/cuda-references.test.ts: the same references
 * against the tensor core's CPU kernels), so that "CUDA matches the reference" also means "CUDA matches
 * the CPU". Inputs are rounded to the storage type first, so a reference sees exactly the kernel's input.
 */
import type { HostBuffer } from './cuda-addon.js';

export type Dtype = 'f32' | 'bf16';

// ---- float32 ⇄ bf16 on the host -------------------------------------------------------------------
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bf16 bits of x, rounded to nearest even (what __float2bfloat16_rn does). */
export function toBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40; // NaN stays a quiet NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16Bits(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

// ---- random data ----------------------------------------------------------------------------------
/** n values uniform in [lo, hi), already rounded to the storage type. */
export function randomValues(next: () => number, n: number, dtype: Dtype, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = lo + (hi - lo) * next();
    out[i] = dtype === 'bf16' ? fromBf16Bits(toBf16Bits(v)) : Math.fround(v);
  }
  return out;
}

export function toStorage(values: Float64Array, dtype: Dtype): HostBuffer {
  if (dtype === 'f32') return Float32Array.from(values);
  return Uint16Array.from(values, (v) => toBf16Bits(v));
}

export function fromStorage(buffer: HostBuffer): Float64Array {
  if (buffer instanceof Float32Array) return Float64Array.from(buffer);
  return Float64Array.from(buffer, (bits) => fromBf16Bits(bits));
}

export function empty(n: number, dtype: Dtype): HostBuffer {
  return dtype === 'f32' ? new Float32Array(n) : new Uint16Array(n);
}

/** Σ(actual − expected)² / Σ expected². */
export function nmse(actual: Float64Array, expected: Float64Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    err += (actual[i]! - expected[i]!) ** 2;
    ref += expected[i]! ** 2;
  }
  return ref === 0 ? err : err / ref;
}

// ---- float64 references ---------------------------------------------------------------------------
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number) => x / (1 + Math.exp(-x));

function rowwise(x: Float64Array, cols: number, f: (row: Float64Array) => Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) out.set(f(x.subarray(r * cols, (r + 1) * cols)), r * cols);
  return out;
}

export function layerNorm(row: Float64Array, eps: number, w?: Float64Array, b?: Float64Array): Float64Array {
  const mean = row.reduce((s, v) => s + v, 0) / row.length;
  const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
  const inv = 1 / Math.sqrt(variance + eps);
  return row.map((v, c) => (v - mean) * inv * (w ? w[c]! : 1) + (b ? b[c]! : 0));
}

function rmsNorm(row: Float64Array, eps: number, w: Float64Array): Float64Array {
  const inv = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length + eps);
  return row.map((v, c) => v * inv * w[c]!);
}

function softmax(row: Float64Array): Float64Array {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

export interface AttentionShape {
  batch: number;
  qLen: number;
  kvLen: number;
  heads: number;
  headDim: number;
}

/** out [B,Sq,H,D] and lse [B,H,Sq] of softmax(scale·q·kᵀ)·v. */
export function attention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  s: AttentionShape,
  scale: number,
) {
  const { batch, qLen, kvLen, heads, headDim } = s;
  const out = new Float64Array(batch * qLen * heads * headDim);
  const lse = new Float64Array(batch * heads * qLen);
  const scores = new Float64Array(kvLen);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < qLen; i++) {
        const qo = ((b * qLen + i) * heads + h) * headDim;
        let m = -Infinity;
        for (let j = 0; j < kvLen; j++) {
          const ko = ((b * kvLen + j) * heads + h) * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qo + d]! * k[ko + d]!;
          scores[j] = dot * scale;
          m = Math.max(m, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < kvLen; j++) sum += Math.exp(scores[j]! - m);
        lse[(b * heads + h) * qLen + i] = m + Math.log(sum);
        for (let j = 0; j < kvLen; j++) {
          const p = Math.exp(scores[j]! - m) / sum;
          const vo = ((b * kvLen + j) * heads + h) * headDim;
          for (let d = 0; d < headDim; d++) out[qo + d] = out[qo + d]! + p * v[vo + d]!;
        }
      }
  return { out, lse };
}

// ---- cases ----------------------------------------------------------------------------------------
export interface Run {
  op: string;
  buffers: HostBuffer[];
  params: number[];
  /** Buffer index → expected values after the run. */
  expect: Map<number, Float64Array>;
}

export interface Case {
  name: string;
  build(dtype: Dtype, next: () => number): Run;
}

const eps = 1e-6;

export const cases: Case[] = [
  {
    name: 'add [37,64] + [37,64]',
    build(dt, next) {
      const a = randomValues(next, 37 * 64, dt);
      const b = randomValues(next, 37 * 64, dt);
      const expected = a.map((v, i) => v + b[i]!);
      return {
        op: 'add',
        buffers: [toStorage(a, dt), toStorage(b, dt), empty(a.length, dt)],
        params: [],
        expect: new Map([[2, expected]]),
      };
    },
  },
  {
    name: 'add [37,64] + bias [64]',
    build(dt, next) {
      const a = randomValues(next, 37 * 64, dt);
      const b = randomValues(next, 64, dt);
      const expected = a.map((v, i) => v + b[i % 64]!);
      return {
        op: 'add',
        buffers: [toStorage(a, dt), toStorage(b, dt), empty(a.length, dt)],
        params: [],
        expect: new Map([[2, expected]]),
      };
    },
  },
  {
    name: 'mul [1000] · [1000]',
    build(dt, next) {
      const a = randomValues(next, 1000, dt, -3, 3);
      const b = randomValues(next, 1000, dt, -3, 3);
      const expected = a.map((v, i) => v * b[i]!);
      return {
        op: 'mul',
        buffers: [toStorage(a, dt), toStorage(b, dt), empty(a.length, dt)],
        params: [],
        expect: new Map([[2, expected]]),
      };
    },
  },
  {
    name: 'sub [1000] − [10]',
    build(dt, next) {
      const a = randomValues(next, 1000, dt, -3, 3);
      const b = randomValues(next, 10, dt, -3, 3);
      const expected = a.map((v, i) => v - b[i % 10]!);
      return {
        op: 'sub',
        buffers: [toStorage(a, dt), toStorage(b, dt), empty(a.length, dt)],
        params: [],
        expect: new Map([[2, expected]]),
      };
    },
  },
  {
    name: 'div [1000] ÷ [1000] (|b| ≥ 0.5)',
    build(dt, next) {
      const a = randomValues(next, 1000, dt, -3, 3);
      const b = randomValues(next, 1000, dt, 0.5, 2).map((v, i) => (i % 2 ? v : -v));
      const expected = a.map((v, i) => v / b[i]!);
      return {
        op: 'div',
        buffers: [toStorage(a, dt), toStorage(b, dt), empty(a.length, dt)],
        params: [],
        expect: new Map([[2, expected]]),
      };
    },
  },
  {
    name: 'affine [777] · 0.25 + 3',
    build(dt, next) {
      const x = randomValues(next, 777, dt, -4, 4);
      return {
        op: 'affine',
        buffers: [toStorage(x, dt), empty(x.length, dt)],
        params: [0.25, 3],
        expect: new Map([[1, x.map((v) => v * 0.25 + 3)]]),
      };
    },
  },
  {
    name: 'gelu_tanh [4099]',
    build(dt, next) {
      const x = randomValues(next, 4099, dt, -6, 6);
      return {
        op: 'gelu_tanh',
        buffers: [toStorage(x, dt), empty(x.length, dt)],
        params: [],
        expect: new Map([[1, x.map(geluTanh)]]),
      };
    },
  },
  {
    name: 'silu [4099]',
    build(dt, next) {
      const x = randomValues(next, 4099, dt, -8, 8);
      return {
        op: 'silu',
        buffers: [toStorage(x, dt), empty(x.length, dt)],
        params: [],
        expect: new Map([[1, x.map(silu)]]),
      };
    },
  },
  {
    name: 'layer_norm [19,300] no affine, offset 5',
    build(dt, next) {
      const x = randomValues(next, 19 * 300, dt, 4, 6);
      const expected = rowwise(x, 300, (row) => layerNorm(row, eps));
      return {
        op: 'layer_norm',
        buffers: [toStorage(x, dt), empty(0, dt), empty(0, dt), empty(x.length, dt)],
        params: [300, eps],
        expect: new Map([[3, expected]]),
      };
    },
  },
  {
    name: 'layer_norm [8,3072] weight+bias',
    build(dt, next) {
      const x = randomValues(next, 8 * 3072, dt, -2, 2);
      const w = randomValues(next, 3072, dt);
      const b = randomValues(next, 3072, dt);
      const expected = rowwise(x, 3072, (row) => layerNorm(row, eps, w, b));
      return {
        op: 'layer_norm',
        buffers: [toStorage(x, dt), toStorage(w, dt), toStorage(b, dt), empty(x.length, dt)],
        params: [3072, eps],
        expect: new Map([[3, expected]]),
      };
    },
  },
  {
    name: 'rms_norm [50,128] weight',
    build(dt, next) {
      const x = randomValues(next, 50 * 128, dt, -2, 2);
      const w = randomValues(next, 128, dt, 0.5, 1.5);
      const expected = rowwise(x, 128, (row) => rmsNorm(row, eps, w));
      return {
        op: 'rms_norm',
        buffers: [toStorage(x, dt), toStorage(w, dt), empty(x.length, dt)],
        params: [128, eps],
        expect: new Map([[2, expected]]),
      };
    },
  },
  {
    name: 'softmax [33,1000]',
    build(dt, next) {
      const x = randomValues(next, 33 * 1000, dt, -10, 10);
      return {
        op: 'softmax',
        buffers: [toStorage(x, dt), empty(x.length, dt)],
        params: [1000],
        expect: new Map([[1, rowwise(x, 1000, softmax)]]),
      };
    },
  },
  {
    name: 'modulate [2,17,96]',
    build(dt, next) {
      const [B, N, D] = [2, 17, 96];
      const x = randomValues(next, B * N * D, dt);
      const scale = randomValues(next, B * D, dt);
      const shift = randomValues(next, B * D, dt);
      const expected = x.map((v, i) => {
        const b = Math.floor(i / (N * D));
        const d = i % D;
        return v * (1 + scale[b * D + d]!) + shift[b * D + d]!;
      });
      return {
        op: 'modulate',
        buffers: [toStorage(x, dt), toStorage(scale, dt), toStorage(shift, dt), empty(x.length, dt)],
        params: [B, N, D],
        expect: new Map([[3, expected]]),
      };
    },
  },
  {
    name: 'gated_residual [2,17,96]',
    build(dt, next) {
      const [B, N, D] = [2, 17, 96];
      const r = randomValues(next, B * N * D, dt);
      const gate = randomValues(next, B * D, dt);
      const y = randomValues(next, B * N * D, dt);
      const expected = r.map((v, i) => v + gate[Math.floor(i / (N * D)) * D + (i % D)]! * y[i]!);
      return {
        op: 'gated_residual',
        buffers: [toStorage(r, dt), toStorage(gate, dt), toStorage(y, dt), empty(r.length, dt)],
        params: [B, N, D],
        expect: new Map([[3, expected]]),
      };
    },
  },
  {
    name: 'rope [2,24,3,16] interleaved pairs',
    build(dt, next) {
      const [B, S, H, D] = [2, 24, 3, 16];
      const x = randomValues(next, B * S * H * D, dt);
      const cos = new Float64Array(S * D);
      const sin = new Float64Array(S * D);
      for (let s = 0; s < S; s++)
        for (let j = 0; j < D / 2; j++) {
          const angle = s / 10000 ** ((2 * j) / D);
          for (const d of [2 * j, 2 * j + 1]) {
            cos[s * D + d] = Math.fround(Math.cos(angle));
            sin[s * D + d] = Math.fround(Math.sin(angle));
          }
        }
      const expected = new Float64Array(x.length);
      for (let e = 0; e < x.length; e += 2) {
        const t = (Math.floor(e / (D * H)) % S) * D + (e % D);
        expected[e] = x[e]! * cos[t]! - x[e + 1]! * sin[t]!;
        expected[e + 1] = x[e + 1]! * cos[t + 1]! + x[e]! * sin[t + 1]!;
      }
      return {
        op: 'rope',
        buffers: [toStorage(x, dt), Float32Array.from(cos), Float32Array.from(sin), empty(x.length, dt)],
        params: [B, S, H, D],
        expect: new Map([[3, expected]]),
      };
    },
  },
  ...[
    { batch: 2, qLen: 77, kvLen: 130, heads: 3, headDim: 64 },
    { batch: 1, qLen: 5, kvLen: 300, heads: 2, headDim: 128 },
    { batch: 1, qLen: 9, kvLen: 40, heads: 2, headDim: 200 },
    { batch: 1, qLen: 3, kvLen: 1, heads: 1, headDim: 24 },
  ].map(
    (shape): Case => ({
      name: `attention B${shape.batch} Sq${shape.qLen} Skv${shape.kvLen} H${shape.heads} D${shape.headDim} + lse`,
      build(dt, next) {
        const { batch, qLen, kvLen, heads, headDim } = shape;
        const q = randomValues(next, batch * qLen * heads * headDim, dt, -2, 2);
        const k = randomValues(next, batch * kvLen * heads * headDim, dt, -2, 2);
        const v = randomValues(next, batch * kvLen * heads * headDim, dt);
        const scale = 1 / Math.sqrt(headDim);
        const ref = attention(q, k, v, shape, scale);
        return {
          op: 'attention',
          buffers: [
            toStorage(q, dt),
            toStorage(k, dt),
            toStorage(v, dt),
            empty(q.length, dt),
            new Float32Array(ref.lse.length),
          ],
          params: [batch, qLen, kvLen, heads, headDim, scale],
          expect: new Map([
            [3, ref.out],
            [4, ref.lse],
          ]),
        };
      },
    }),
  ),
  {
    name: 'group_norm [2,12,7×5] 4 groups, weight+bias',
    build(dt, next) {
      const [N, C, HW, G] = [2, 12, 35, 4];
      const x = randomValues(next, N * C * HW, dt, 1, 3);
      const w = randomValues(next, C, dt);
      const b = randomValues(next, C, dt);
      const per = (C / G) * HW;
      const expected = new Float64Array(x.length);
      for (let g = 0; g < N * G; g++) {
        const normed = layerNorm(x.subarray(g * per, (g + 1) * per), eps);
        for (let i = 0; i < per; i++) {
          const c = (g % G) * (C / G) + Math.floor(i / HW);
          expected[g * per + i] = normed[i]! * w[c]! + b[c]!;
        }
      }
      return {
        op: 'group_norm',
        buffers: [toStorage(x, dt), toStorage(w, dt), toStorage(b, dt), empty(x.length, dt)],
        params: [N, C, HW, G, eps],
        expect: new Map([[3, expected]]),
      };
    },
  },
  ...[
    { n: 2, cIn: 3, h: 9, w: 7, cOut: 4, k: 3, stride: 1, pad: 1 },
    { n: 1, cIn: 5, h: 10, w: 11, cOut: 2, k: 3, stride: 2, pad: 0 },
    { n: 1, cIn: 8, h: 4, w: 4, cOut: 6, k: 1, stride: 1, pad: 0 },
  ].map(
    (g): Case => ({
      name: `conv2d [${g.n},${g.cIn},${g.h},${g.w}] * [${g.cOut},${g.cIn},${g.k},${g.k}] stride ${g.stride} pad ${g.pad}`,
      build(dt, next) {
        const x = randomValues(next, g.n * g.cIn * g.h * g.w, dt);
        const w = randomValues(next, g.cOut * g.cIn * g.k * g.k, dt);
        const b = randomValues(next, g.cOut, dt);
        const oh = Math.floor((g.h + 2 * g.pad - g.k) / g.stride) + 1;
        const ow = Math.floor((g.w + 2 * g.pad - g.k) / g.stride) + 1;
        const expected = new Float64Array(g.n * g.cOut * oh * ow);
        for (let n = 0; n < g.n; n++)
          for (let o = 0; o < g.cOut; o++)
            for (let y = 0; y < oh; y++)
              for (let xo = 0; xo < ow; xo++) {
                let acc = b[o]!;
                for (let c = 0; c < g.cIn; c++)
                  for (let ky = 0; ky < g.k; ky++)
                    for (let kx = 0; kx < g.k; kx++) {
                      const iy = y * g.stride - g.pad + ky;
                      const ix = xo * g.stride - g.pad + kx;
                      if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                      acc +=
                        x[((n * g.cIn + c) * g.h + iy) * g.w + ix]! *
                        w[((o * g.cIn + c) * g.k + ky) * g.k + kx]!;
                    }
                expected[((n * g.cOut + o) * oh + y) * ow + xo] = acc;
              }
        return {
          op: 'conv2d',
          buffers: [toStorage(x, dt), toStorage(w, dt), toStorage(b, dt), empty(expected.length, dt)],
          params: [g.n, g.cIn, g.h, g.w, g.cOut, g.k, g.k, g.stride, g.stride, g.pad, g.pad],
          expect: new Map([[3, expected]]),
        };
      },
    }),
  ),
  {
    name: 'upsample_nearest [2,3,4,5] ×2,×3',
    build(dt, next) {
      const [N, C, H, W, FH, FW] = [2, 3, 4, 5, 2, 3];
      const x = randomValues(next, N * C * H * W, dt);
      const expected = new Float64Array(N * C * H * FH * W * FW);
      for (let p = 0; p < N * C; p++)
        for (let y = 0; y < H * FH; y++)
          for (let xo = 0; xo < W * FW; xo++)
            expected[(p * H * FH + y) * W * FW + xo] =
              x[(p * H + Math.floor(y / FH)) * W + Math.floor(xo / FW)]!;
      return {
        op: 'upsample_nearest',
        buffers: [toStorage(x, dt), empty(expected.length, dt)],
        params: [N, C, H, W, FH, FW],
        expect: new Map([[1, expected]]),
      };
    },
  },
  {
    name: 'permute [2,3,4,5] → (0,2,1,3)',
    build(dt, next) {
      const shape = [2, 3, 4, 5];
      const perm = [0, 2, 1, 3];
      const x = randomValues(next, 120, dt);
      const expected = new Float64Array(120);
      let i = 0;
      for (let a = 0; a < 2; a++)
        for (let c = 0; c < 4; c++)
          for (let b = 0; b < 3; b++)
            for (let d = 0; d < 5; d++) expected[i++] = x[((a * 3 + b) * 4 + c) * 5 + d]!;
      return {
        op: 'permute',
        buffers: [toStorage(x, dt), empty(120, dt)],
        params: [4, ...shape, ...perm],
        expect: new Map([[1, expected]]),
      };
    },
  },
  {
    name: 'concat [6,10] ‖ [6,7]',
    build(dt, next) {
      const a = randomValues(next, 60, dt);
      const b = randomValues(next, 42, dt);
      const expected = new Float64Array(102);
      for (let r = 0; r < 6; r++) {
        expected.set(a.subarray(r * 10, r * 10 + 10), r * 17);
        expected.set(b.subarray(r * 7, r * 7 + 7), r * 17 + 10);
      }
      return {
        op: 'concat',
        buffers: [toStorage(a, dt), toStorage(b, dt), empty(102, dt)],
        params: [6, 10, 7],
        expect: new Map([[2, expected]]),
      };
    },
  },
];

/** Bound on the normalised MSE: float32 arithmetic, then rounding to the output storage. */
export const bound: Record<Dtype, number> = { f32: 1e-9, bf16: 5e-5 };
