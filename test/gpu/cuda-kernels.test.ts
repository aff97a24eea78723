/**
 * Every CUDA kernel against a float64 CPU reference on random data, in f32 and bf16 storage (the
 * ggml test-backend-ops idea: one case per op, printable parameters, a normalised-MSE bound per dtype).
 * Inputs are rounded to the storage type first, so the reference sees exactly what the GPU sees and the
 * bound measures only the kernel's arithmetic and its output rounding.
 *
 * Needs a CUDA device; elsewhere it prints "no CUDA device here" and skips.
 */
import { describe, expect, it } from 'vitest';
import { type CudaAddon, loadCudaAddon } from '../support/cuda-addon.js';
import {
  bound,
  cases,
  empty,
  fromBf16Bits,
  fromStorage,
  nmse,
  type Run,
  randomValues,
  toBf16Bits,
  toStorage,
} from '../support/cuda-cases.js';
import { TEST_SECRET } from '../support/group-secret.js';
import { rng } from '../support/rng.js';

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
  StoreServer: new (
    host: string,
    port: number,
    options: { secret: Uint8Array },
  ) => { readonly port: number; close(): void };
  createCommunicator(options: {
    backend: 'nccl';
    host: string;
    port: number;
    secret: Uint8Array;
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
    const server = new nccl.StoreServer('127.0.0.1', 0, { secret: TEST_SECRET });
    try {
      const comm = await nccl.createCommunicator({
        backend: 'nccl',
        host: '127.0.0.1',
        port: server.port,
        secret: TEST_SECRET,
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
