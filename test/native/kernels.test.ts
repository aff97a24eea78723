// Every CPU kernel against a float64 reference on random inputs (no zeros), per kernel and shape.
import { describe, expect, it } from 'vitest';
import { ops, Tensor } from '../../src/runtime/native/index.js';
import {
  at,
  conv2dRef,
  geluRef,
  groupNormRef,
  indices,
  layerNormRef,
  linearRef,
  product,
  randomValues,
  rmsNormRef,
  ropeRef,
  siluRef,
  softmaxRef,
  worstError,
} from './reference.js';

const random = (shape: number[], seed: number, scale = 1): Tensor =>
  Tensor.fromArray(randomValues(product(shape), seed, scale), shape);
const f32 = (t: Tensor): Float32Array => t.toFloat32Array();

describe('linear (sgemm, weight [out, in])', () => {
  it.each([
    [[1, 1], 1],
    [[7, 33], 5],
    [[2, 13, 64], 130],
    [[300, 96], 257],
  ])('x %j → %i outputs, with and without bias', (xShape, n) => {
    const k = xShape.at(-1) as number;
    const rows = product(xShape) / k;
    const x = random(xShape, 1);
    const w = random([n, k], 2);
    const b = random([n], 3);
    const expected = linearRef(f32(x), f32(w), f32(b), rows, k, n);
    const y = ops.linear(x, w, b);
    expect(y.shape).toEqual([...xShape.slice(0, -1), n]);
    expect(worstError(f32(y), expected, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    const noBias = linearRef(f32(x), f32(w), undefined, rows, k, n);
    expect(worstError(f32(ops.linear(x, w)), noBias, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('reads bf16 weights as their exact f32 values and writes into out', () => {
    const x = random([5, 40], 4);
    const w = random([9, 40], 5).to('bf16');
    const out = Tensor.empty([5, 9]);
    const expected = linearRef(f32(x), f32(w), undefined, 5, 40, 9);
    expect(ops.linear(x, w, undefined, out)).toBe(out);
    expect(worstError(f32(out), expected, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('names the mismatch when shapes disagree', () => {
    expect(() => ops.linear(random([2, 3], 1), random([4, 5], 2))).toThrow(/last dimension 3.*expects 5/);
  });
});

describe('matmul', () => {
  it.each([
    [[3, 4, 5], [3, 5, 6], false],
    [[2, 7, 9], [9, 4], false],
    [[2, 7, 9], [2, 4, 9], true],
  ])('a %j · b %j (transposeB %s)', (aShape, bShape, transposeB) => {
    const a = random(aShape, 6);
    const b = random(bShape, 7);
    const m = aShape.at(-2) as number;
    const k = aShape.at(-1) as number;
    const n = transposeB ? (bShape.at(-2) as number) : (bShape.at(-1) as number);
    const batches = product(aShape) / (m * k);
    const av = f32(a);
    const bv = f32(b);
    const expected = new Float64Array(batches * m * n);
    for (let s = 0; s < batches; s++) {
      const bo = bShape.length === 2 ? 0 : s * k * n;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let e = 0; e < k; e++) {
            const bval = transposeB ? (bv[bo + j * k + e] as number) : (bv[bo + e * n + j] as number);
            acc += (av[s * m * k + i * k + e] as number) * bval;
          }
          expected[(s * m + i) * n + j] = acc;
        }
    }
    expect(worstError(f32(ops.matmul(a, b, { transposeB })), expected, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe('normalisations', () => {
  it.each([[[1, 8]], [[3, 5, 64]], [[17, 3072]]])('layerNorm %j, with and without affine', (shape) => {
    const d = shape.at(-1) as number;
    const x = random(shape, 10, 3);
    const w = random([d], 11);
    const b = random([d], 12);
    expect(worstError(f32(ops.layerNorm(x)), layerNormRef(f32(x), d, 1e-6), 1e-5, 1e-5)).toBeLessThanOrEqual(
      1,
    );
    const affine = ops.layerNorm(x, { weight: w, bias: b, eps: 1e-5 });
    expect(
      worstError(f32(affine), layerNormRef(f32(x), d, 1e-5, f32(w), f32(b)), 1e-5, 1e-5),
    ).toBeLessThanOrEqual(1);
  });

  it.each([[[4, 16]], [[2, 3, 5, 128]]])('rmsNorm %j, with and without weight', (shape) => {
    const d = shape.at(-1) as number;
    const x = random(shape, 13, 2);
    const w = random([d], 14);
    expect(worstError(f32(ops.rmsNorm(x)), rmsNormRef(f32(x), d, 1e-6), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(
      worstError(f32(ops.rmsNorm(x, { weight: w })), rmsNormRef(f32(x), d, 1e-6, f32(w)), 1e-5, 1e-6),
    ).toBeLessThanOrEqual(1);
  });

  it.each([
    [[2, 8, 5, 3], 4],
    [[1, 64, 9, 9], 32],
  ])('groupNorm %j in %i groups', (shape, groups) => {
    const [n, c] = shape as [number, number];
    const spatial = product(shape) / (n * c);
    const x = random(shape, 15, 2);
    const w = random([c], 16);
    const b = random([c], 17);
    const y = ops.groupNorm(x, groups, { weight: w, bias: b });
    expect(
      worstError(f32(y), groupNormRef(f32(x), n, c, spatial, groups, 1e-6, f32(w), f32(b)), 1e-5, 1e-5),
    ).toBeLessThanOrEqual(1);
    expect(() => ops.groupNorm(x, 3)).toThrow(/groups \(3\) must divide the channel count/);
  });
});

describe('activations and softmax', () => {
  it.each([[[9]], [[4, 1000]]])('gelu (tanh) and silu %j', (shape) => {
    const x = random(shape, 20, 6);
    const xs = f32(x);
    expect(worstError(f32(ops.gelu(x)), Float64Array.from(xs, geluRef), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(worstError(f32(ops.silu(x)), Float64Array.from(xs, siluRef), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('gelu in place (out = x)', () => {
    const x = random([3, 50], 21, 4);
    const expected = Float64Array.from(f32(x), geluRef);
    expect(ops.gelu(x, x)).toBe(x);
    expect(worstError(f32(x), expected, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('gelu and silu saturate at large |x| (0 below, x above) without NaN', () => {
    const values = [-1e4, -300, -90, -20, 20, 90, 300, 1e4, -0.5, 0.5, 3];
    const x = Tensor.fromArray(Float32Array.from(values), [values.length]);
    const xs = f32(x);
    expect(worstError(f32(ops.gelu(x)), Float64Array.from(xs, geluRef), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(worstError(f32(ops.silu(x)), Float64Array.from(xs, siluRef), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it.each([[[1, 5]], [[6, 777]]])('softmax %j over the last axis (large logits)', (shape) => {
    const x = random(shape, 22, 40);
    const d = shape.at(-1) as number;
    expect(worstError(f32(ops.softmax(x)), softmaxRef(f32(x), d), 1e-5, 1e-7)).toBeLessThanOrEqual(1);
  });
});

describe('rope, modulate, gated residual, element-wise', () => {
  it.each([[[1, 3, 2, 4]], [[2, 17, 3, 128]]])('rope on interleaved pairs %j', (shape) => {
    const [b, s, h, d] = shape as [number, number, number, number];
    const x = random(shape, 30);
    const cos = random([s, d], 31);
    const sin = random([s, d], 32);
    expect(
      worstError(f32(ops.rope(x, cos, sin)), ropeRef(f32(x), f32(cos), f32(sin), b, s, h, d), 1e-5, 1e-6),
    ).toBeLessThanOrEqual(1);
  });

  it.each([
    [
      [2, 5, 8],
      [2, 8],
    ],
    [[3, 4, 6], [6]],
  ])('modulate x %j with vectors %j', (xShape, vShape) => {
    const x = random(xShape, 33);
    const shift = random(vShape, 34);
    const scale = random(vShape, 35);
    const [b, , d] = xShape as [number, number, number];
    const tokens = product(xShape) / (b * d);
    const xs = f32(x);
    const sh = f32(shift);
    const sc = f32(scale);
    const shared = vShape.length === 1;
    const expected = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const sample = Math.floor(i / (tokens * d));
      const j = (shared ? 0 : sample * d) + (i % d);
      expected[i] = (xs[i] as number) * (1 + (sc[j] as number)) + (sh[j] as number);
    }
    expect(worstError(f32(ops.modulate(x, shift, scale)), expected, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('gated residual updates x in place', () => {
    const x = random([2, 7, 16], 36);
    const y = random([2, 7, 16], 37);
    const gate = random([2, 16], 38);
    const xs = f32(x);
    const ys = f32(y);
    const gs = f32(gate);
    const expected = Float64Array.from(
      xs,
      (v, i) => v + (gs[Math.floor(i / (7 * 16)) * 16 + (i % 16)] as number) * (ys[i] as number),
    );
    expect(ops.gatedResidual(x, gate, y, x)).toBe(x);
    expect(worstError(f32(x), expected, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
  });

  it.each([
    [
      [4, 5],
      [4, 5],
    ],
    [[2, 3, 4], [4]],
    [
      [2, 1, 4],
      [3, 1],
    ],
  ])('add/sub/mul/div broadcast %j with %j', (aShape, bShape) => {
    const a = random(aShape, 40);
    const b = random(bShape, 41);
    const av = f32(a);
    const bv = f32(b);
    const sum = ops.add(a, b);
    const outShape = [...sum.shape];
    const rank = outShape.length;
    const pick = (data: Float32Array, shape: number[], idx: number[]): number =>
      at(
        data,
        shape,
        shape.map((s, i) => (s === 1 ? 0 : (idx[rank - shape.length + i] as number))),
      );
    const ops4 = [
      [ops.add, (x: number, y: number) => x + y],
      [ops.sub, (x: number, y: number) => x - y],
      [ops.mul, (x: number, y: number) => x * y],
      [ops.div, (x: number, y: number) => x / y],
    ] as const;
    for (const [op, f] of ops4) {
      const expected = Float64Array.from(indices(outShape), (idx) =>
        f(pick(av, aShape, idx), pick(bv, bShape, idx)),
      );
      expect(worstError(f32(op(a, b)), expected, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
    }
    expect(() => ops.add(random([2, 3], 1), random([4], 2))).toThrow(/cannot be broadcast/);
  });

  it('affine x·mul + add', () => {
    const x = random([10], 42);
    const expected = Float64Array.from(f32(x), (v) => v * 1.5 - 0.25);
    expect(worstError(f32(ops.affine(x, 1.5, -0.25)), expected, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
  });
});

describe('layout: concat, split, permute', () => {
  it.each([0, 1, 2, -1])('concat then split along axis %i restores the parts', (axis) => {
    const parts = [random([2, 3, 4], 50), random([2, 3, 4], 51), random([2, 3, 4], 52)];
    const sizes = parts.map((p) => p.size(axis));
    const joined = ops.concat(parts, axis);
    const expectedShape = [2, 3, 4];
    const a = axis < 0 ? axis + 3 : axis;
    expectedShape[a] = sizes.reduce((x, y) => x + y, 0);
    expect(joined.shape).toEqual(expectedShape);
    const pieces = ops.split(joined, sizes, axis);
    for (const [i, piece] of pieces.entries()) {
      expect(piece.sharesStorage(joined)).toBe(true);
      expect(f32(piece)).toEqual(f32(parts[i] as Tensor));
    }
  });

  it('concat keeps bf16 and checks the other axes', () => {
    const a = random([2, 3], 53).to('bf16');
    const b = random([2, 5], 54).to('bf16');
    const c = ops.concat([a, b], 1);
    expect(c.dtype).toBe('bf16');
    expect(f32(c.narrow(1, 3, 5))).toEqual(f32(b));
    expect(() => ops.concat([a, random([3, 3], 1).to('bf16')], 1)).toThrow(/differs .* outside axis 1/);
  });

  it.each([
    [
      [2, 3, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 0, 2],
    ],
    [
      [6, 7],
      [1, 0],
    ],
  ])('permute %j by %j', (shape, order) => {
    const x = random(shape, 55);
    const xs = f32(x);
    const y = ops.permute(x, order);
    expect(y.isContiguous).toBe(true);
    expect(y.shape).toEqual(order.map((o) => shape[o]));
    const expected = Float64Array.from(indices(y.shape), (idx) =>
      at(
        xs,
        shape,
        shape.map((_, a) => idx[order.indexOf(a)] as number),
      ),
    );
    expect(f32(y)).toEqual(Float32Array.from(expected));
  });

  it('Ulysses all-to-all layout: [B, S, P, H/P, D] → [P, B, S, H/P, D] is a permute', () => {
    const [b, s, p, hp, d] = [1, 4, 2, 3, 2];
    const x = random([b, s, p * hp, d], 56);
    const chunks = ops.permute(x.reshape([b, s, p, hp, d]), [2, 0, 1, 3, 4]);
    for (let r = 0; r < p; r++) {
      const chunk = chunks.narrow(0, r, 1).reshape([b, s, hp, d]);
      expect(f32(chunk)).toEqual(f32(x.narrow(2, r * hp, hp)));
    }
  });
});

describe('conv2d and nearest upsampling', () => {
  type Case = [[number, number, number, number], [number, number, number], number, number];
  it.each<Case>([
    [[1, 3, 8, 8], [4, 3, 3], 1, 1],
    [[2, 4, 9, 7], [5, 3, 3], 2, 1],
    [[1, 6, 5, 5], [3, 1, 1], 1, 0],
    [[1, 2, 6, 6], [2, 2, 2], 2, 0],
  ])('conv2d x %j weight [O, kh, kw] %j stride %i pad %i', (xShape, kernel, stride, pad) => {
    const [o, kh, kw] = kernel;
    const c = xShape[1];
    const x = random([...xShape], 60);
    const w = random([o, c, kh, kw], 61);
    const bias = random([o], 62);
    const ref = conv2dRef(f32(x), f32(w), f32(bias), xShape, kernel, stride, pad);
    const y = ops.conv2d(x, w, { bias, stride, padding: pad });
    expect(y.shape).toEqual(ref.shape);
    expect(worstError(f32(y), ref.out, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('upsampleNearest ×2 repeats each pixel into a 2×2 block', () => {
    const x = random([2, 3, 4, 5], 63);
    const xs = f32(x);
    const y = ops.upsampleNearest(x, 2);
    expect(y.shape).toEqual([2, 3, 8, 10]);
    const expected = Float32Array.from(indices(y.shape), ([n, c, h, w]) =>
      at(
        xs,
        [2, 3, 4, 5],
        [n as number, c as number, Math.floor((h as number) / 2), Math.floor((w as number) / 2)],
      ),
    );
    expect(f32(y)).toEqual(expected);
  });
});
