/**
 * Every CUDA kernel against a float64 CPU reference on random data, in f32 and bf16 storage (the
 * ggml test-backend-ops idea: one case per op, printable parameters, a normalised-MSE bound per dtype).
 * Inputs are rounded to the storage type first, so the reference sees exactly what the GPU sees and the
 * bound measures only the kernel's arithmetic and its output rounding.
 *
 * Needs a CUDA device; elsewhere it prints "no CUDA device here" and skips.
 */
import { describe, expect, it } from 'vitest';
import { type CudaAddon, type HostBuffer, loadCudaAddon } from '../support/cuda-addon.js';

type Dtype = 'f32' | 'bf16';

// ---- float32 ⇄ bf16 on the host -------------------------------------------------------------------
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bf16 bits of x, rounded to nearest even (what __float2bfloat16_rn does). */
function toBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40; // NaN stays a quiet NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function fromBf16Bits(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

// ---- random data ----------------------------------------------------------------------------------
/** mulberry32: a small seeded generator, so a failure reproduces exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi), already rounded to the storage type. */
function randomValues(next: () => number, n: number, dtype: Dtype, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = lo + (hi - lo) * next();
    out[i] = dtype === 'bf16' ? fromBf16Bits(toBf16Bits(v)) : Math.fround(v);
  }
  return out;
}

function toStorage(values: Float64Array, dtype: Dtype): HostBuffer {
  if (dtype === 'f32') return Float32Array.from(values);
  return Uint16Array.from(values, (v) => toBf16Bits(v));
}

function fromStorage(buffer: HostBuffer): Float64Array {
  if (buffer instanceof Float32Array) return Float64Array.from(buffer);
  return Float64Array.from(buffer, (bits) => fromBf16Bits(bits));
}

function empty(n: number, dtype: Dtype): HostBuffer {
  return dtype === 'f32' ? new Float32Array(n) : new Uint16Array(n);
}

/** Σ(actual − expected)² / Σ expected². */
function nmse(actual: Float64Array, expected: Float64Array): number {
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

function layerNorm(row: Float64Array, eps: number, w?: Float64Array, b?: Float64Array): Float64Array {
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

interface AttentionShape {
  batch: number;
  qLen: number;
  kvLen: number;
  heads: number;
  headDim: number;
}

/** out [B,Sq,H,D] and lse [B,H,Sq] of softmax(scale·q·kᵀ)·v. */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, s: AttentionShape, scale: number) {
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
interface Run {
  op: string;
  buffers: HostBuffer[];
  params: number[];
  /** Buffer index → expected values after the run. */
  expect: Map<number, Float64Array>;
}

interface Case {
  name: string;
  build(dtype: Dtype, next: () => number): Run;
}

const eps = 1e-6;

const cases: Case[] = [
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
const bound: Record<Dtype, number> = { f32: 1e-9, bf16: 5e-5 };

const addon = loadCudaAddon();
const status = typeof addon === 'string' ? undefined : addon.cudaStatus();
const gpu = status?.available === true;
if (!gpu) {
  console.warn(
    `cuda-kernels: skipped — no CUDA device here (${typeof addon === 'string' ? addon : status?.reason})`,
  );
}

/** The parts of the tensor core and comm exports the NCCL check uses (see src/runtime/comm/binding.ts). */
interface NcclParts {
  zeros(shape: number[], dtype: 'f32', device: 'cuda'): unknown;
  StoreServer: new (host: string, port: number) => { readonly port: number; close(): void };
  createCommunicator(options: {
    backend: 'nccl';
    host: string;
    port: number;
    prefix: string;
    rank: number;
    size: number;
    timeoutMs: number;
    cudaDevice: number;
  }): Promise<{
    readonly backend: string;
    readonly rank: number;
    readonly size: number;
    readonly failure: string;
    allReduce(buf: unknown, dtype: 'f32', op: 'sum'): Promise<void>;
    allGather(input: unknown, output: unknown, dtype: 'f32'): Promise<void>;
    close(): Promise<void>;
  }>;
}

function run(native: CudaAddon, r: Run): void {
  native.cudaKernelOnHost(r.op, r.buffers, r.params);
}

describe.skipIf(!gpu)('CUDA kernels match the float64 reference', () => {
  const native = addon as CudaAddon;

  for (const dtype of ['f32', 'bf16'] as const) {
    for (const [index, c] of cases.entries()) {
      it(`${c.name} (${dtype})`, () => {
        const r = c.build(dtype, rng(1000 + index));
        run(native, r);
        for (const [buffer, expected] of r.expect) {
          const err = nmse(fromStorage(r.buffers[buffer]!), expected);
          expect(err, `${r.op} buffer ${buffer}: NMSE ${err.toExponential(2)}`).toBeLessThan(bound[dtype]);
        }
      });
    }
  }

  it('converts f32 → bf16 with round-to-nearest-even and back exactly', () => {
    const next = rng(7);
    const x = Float32Array.from({ length: 5000 }, () => (next() - 0.5) * 2 ** (next() * 40 - 20));
    const bf = new Uint16Array(x.length);
    native.cudaKernelOnHost('convert', [x, bf], []);
    expect(Array.from(bf)).toEqual(Array.from(x, toBf16Bits));
    const back = new Float32Array(x.length);
    native.cudaKernelOnHost('convert', [bf, back], []);
    expect(Array.from(back)).toEqual(Array.from(bf, fromBf16Bits));
  });

  it('rejects a head_dim above 256 with a message naming it', () => {
    const n = 300;
    expect(() =>
      native.cudaKernelOnHost(
        'attention',
        [
          new Float32Array(n),
          new Float32Array(n),
          new Float32Array(n),
          new Float32Array(n),
          new Float32Array(0),
        ],
        [1, 1, 1, 1, n, 1],
      ),
    ).toThrow(/head_dim 300 is outside 1\.\.256/);
  });

  describe('GEMM through cuBLAS', () => {
    // cuBLAS is loaded on first use; a machine without it (no libcublas.so.12/.13) says so.
    for (const dtype of ['f32', 'bf16'] as const)
      for (const [transA, transB] of [
        [0, 0],
        [0, 1],
        [1, 0],
      ] as const) {
        it(`C[33,47] = A·B (${dtype}, transA ${transA}, transB ${transB})`, (ctx) => {
          const [m, n, k] = [33, 47, 70];
          const next = rng(31 + transA * 2 + transB);
          const a = randomValues(next, m * k, dtype);
          const b = randomValues(next, k * n, dtype);
          const c = empty(m * n, dtype);
          const expected = new Float64Array(m * n);
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let p = 0; p < k; p++)
                s += a[transA ? p * m + i : i * k + p]! * b[transB ? j * k + p : p * n + j]!;
              expected[i * n + j] = s;
            }
          try {
            native.cudaKernelOnHost(
              'gemm',
              [toStorage(a, dtype), toStorage(b, dtype), c],
              [transA, transB, m, n, k, 1, 0],
            );
          } catch (error) {
            if (/cuBLAS not found/.test(String(error))) {
              console.warn(`cuda-kernels: GEMM skipped — ${String(error)}`);
              ctx.skip();
            }
            throw error;
          }
          expect(nmse(fromStorage(c), expected)).toBeLessThan(bound[dtype]);
        });
      }
  });

  it('runs one-rank NCCL all-reduce and all-gather on CUDA tensors', async (ctx) => {
    // NCCL reduces device memory only; the tensor core's 'cuda' tensors provide it.
    const nccl = native as unknown as NcclParts;
    let input: unknown;
    let gathered: unknown;
    try {
      input = nccl.zeros([256], 'f32', 'cuda');
      gathered = nccl.zeros([256], 'f32', 'cuda');
    } catch (error) {
      console.warn(`cuda-kernels: NCCL skipped — no CUDA tensors to reduce: ${String(error)}`);
      ctx.skip();
    }
    const server = new nccl.StoreServer('127.0.0.1', 0);
    try {
      const comm = await nccl.createCommunicator({
        backend: 'nccl',
        host: '127.0.0.1',
        port: server.port,
        prefix: 'gpu-test/nccl',
        rank: 0,
        size: 1,
        timeoutMs: 60_000,
        cudaDevice: 0,
      });
      expect([comm.backend, comm.rank, comm.size]).toEqual(['nccl', 0, 1]);
      await comm.allReduce(input, 'f32', 'sum');
      await comm.allGather(input, gathered, 'f32');
      expect(comm.failure).toBe('');
      await comm.close();
    } finally {
      server.close();
    }
  });
});
