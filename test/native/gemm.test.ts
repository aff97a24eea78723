// The GEMM paths behind linear / matmul / conv2d (native/src/kernels/cpu): shapes that cross every
// blocking edge of every kernel table (micro-tile rows and columns, kc, mc, nc), weights in bf16 and f16
// read as they are, strided and transposed views, and the few-rows path that reads a weight once.
// kernel-choices.test.ts runs this file under every kernel choice this CPU can run.
import { describe, expect, it } from 'vitest';
import { ops, Tensor } from '../../src/runtime/native/index.js';
import { linearRef, product, randomValues, worstError } from './reference.js';

const random = (shape: number[], seed: number, scale = 1): Tensor =>
  Tensor.fromArray(randomValues(product(shape), seed, scale), shape);
const f32 = (t: Tensor): Float32Array => t.toFloat32Array();

// A dot product of k terms in f32 is off by up to about k·2⁻²⁴·Σ|xᵢwᵢ|; the absolute tolerance scales
// with k so that outputs near zero are judged by that bound, not by their own tiny magnitude.
const atolFor = (k: number): number => Math.max(1e-5, k * 6e-8);

describe('the kernels the process runs', () => {
  it('are the ones TESSERA_CPU_KERNELS asks for, or the best this CPU runs', () => {
    const info = ops.cpuKernels();
    expect(info.runnable).toContain(info.kernel);
    const asked = process.env.TESSERA_CPU_KERNELS;
    expect(info.kernel).toBe(asked && asked !== 'auto' ? asked : info.runnable[0]);
    expect(info.reason.length).toBeGreaterThan(0);
    expect(info.microTile).toMatch(/^\d+x\d+ \(\w+\)$/);
  });

  it('measure a positive GEMM ceiling', () => {
    expect(ops.gemmCeiling(0.05)).toBeGreaterThan(0);
  });
});

describe('linear across every blocking edge', () => {
  // 300 rows > mc of every table (96, 192, 288); k = 600 > kc (128, 256); n = 3100 > nc (2048, 3072);
  // none is a multiple of a micro-tile, so edge tiles are exercised in all three dimensions.
  it('x [300, 600] · w [3100, 600]ᵀ + b', () => {
    const [m, k, n] = [300, 600, 3100];
    const x = random([m, k], 31);
    const w = random([n, k], 32);
    const b = random([n], 33);
    const expected = linearRef(f32(x), f32(w), f32(b), m, k, n);
    expect(worstError(f32(ops.linear(x, w, b)), expected, 1e-5, atolFor(k))).toBeLessThanOrEqual(1);
  });
});

describe('weights in their own dtype', () => {
  it.each([
    ['bf16', 1],
    ['bf16', 3],
    ['bf16', 37],
    ['f16', 2],
    ['f16', 37],
  ] as const)('%s weight, %i rows: the exact values of the rounded weight', (dtype, rows) => {
    const k = 77; // not a multiple of any vector width
    const n = 53;
    const x = random([rows, k], 40);
    const w = random([n, k], 41).to(dtype);
    const b = random([n], 42);
    const expected = linearRef(f32(x), f32(w), f32(b), rows, k, n);
    expect(worstError(f32(ops.linear(x, w, b)), expected, 1e-5, atolFor(k))).toBeLessThanOrEqual(1);
  });

  it('matmul with a bf16 second operand, shared and batched', () => {
    const a = random([2, 9, 30], 43);
    const shared = random([30, 26], 44).to('bf16');
    const batched = random([2, 30, 26], 45).to('bf16');
    for (const b of [shared, batched]) {
      const av = f32(a);
      const bv = f32(b);
      const expected = new Float64Array(2 * 9 * 26);
      for (let s = 0; s < 2; s++)
        for (let i = 0; i < 9; i++)
          for (let j = 0; j < 26; j++) {
            let acc = 0;
            const bo = b.shape.length === 2 ? 0 : s * 30 * 26;
            for (let e = 0; e < 30; e++)
              acc += (av[(s * 9 + i) * 30 + e] as number) * (bv[bo + e * 26 + j] as number);
            expected[(s * 9 + i) * 26 + j] = acc;
          }
      expect(worstError(f32(ops.matmul(a, b)), expected, 1e-5, atolFor(30))).toBeLessThanOrEqual(1);
    }
  });
});

describe('strided operands are read through their strides', () => {
  it('a transposed weight view (w = wᵀᵀ) and a narrowed weight', () => {
    const [rows, k, n] = [19, 70, 45];
    const x = random([rows, k], 50);
    const wt = random([k, n], 51); // w = wtᵀ: [n, k] with strides [1, n]
    const w = wt.permute([1, 0]);
    const expected = linearRef(f32(x), f32(w), undefined, rows, k, n);
    expect(worstError(f32(ops.linear(x, w)), expected, 1e-5, atolFor(k))).toBeLessThanOrEqual(1);
    const wide = random([n, k + 11], 52);
    const narrowed = wide.narrow(1, 5, k); // rows of k values, k + 11 apart
    const expectedNarrow = linearRef(f32(x), f32(narrowed), undefined, rows, k, n);
    expect(worstError(f32(ops.linear(x, narrowed)), expectedNarrow, 1e-5, atolFor(k))).toBeLessThanOrEqual(1);
  });

  it('few rows against a transposed weight (not the weight-once path) and with a bias', () => {
    const x = random([2, 40], 53);
    const w = random([40, 33], 54).permute([1, 0]);
    const b = random([33], 55);
    const expected = linearRef(f32(x), f32(w), f32(b), 2, 40, 33);
    expect(worstError(f32(ops.linear(x, w, b)), expected, 1e-5, atolFor(40))).toBeLessThanOrEqual(1);
  });

  it('matmul with transposeB on a narrowed b', () => {
    const a = random([13, 24], 56);
    const b = random([40, 30], 57).narrow(1, 3, 24); // [40, 24] read as bᵀ
    const av = f32(a);
    const bv = f32(b);
    const expected = new Float64Array(13 * 40);
    for (let i = 0; i < 13; i++)
      for (let j = 0; j < 40; j++) {
        let acc = 0;
        for (let e = 0; e < 24; e++) acc += (av[i * 24 + e] as number) * (bv[j * 24 + e] as number);
        expected[i * 40 + j] = acc;
      }
    expect(
      worstError(f32(ops.matmul(a, b, { transposeB: true })), expected, 1e-5, atolFor(24)),
    ).toBeLessThanOrEqual(1);
  });
});
