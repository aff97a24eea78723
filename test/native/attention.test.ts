// Blocked online-softmax attention against a direct float64 computation, including the log-sum-exp.
import { describe, expect, it } from 'vitest';
import { ops, Tensor } from '../../src/runtime/native/index.js';
import { attentionRef, product, randomValues, worstError } from './reference.js';

const random = (shape: number[], seed: number, scale = 1): Tensor =>
  Tensor.fromArray(randomValues(product(shape), seed, scale), shape);

describe('attention [B, S, H, D]', () => {
  // Sizes straddle the kernel's query tiles (about 96 queries), key blocks (256) and micro-panels (4 or 8
  // keys and head dims), so partial tiles, blocks and padded keys and head dims are exercised; D = 10 is
  // no multiple of any micro-panel.
  it.each([
    [1, 1, 1, 1, 4],
    [2, 5, 9, 3, 8],
    [1, 300, 700, 2, 16],
    [1, 257, 513, 1, 64],
    [2, 130, 301, 2, 10],
    [1, 97, 260, 1, 128],
  ])('B=%i Sq=%i Sk=%i H=%i D=%i: output and lse match the direct computation', (b, sq, sk, h, d) => {
    const q = random([b, sq, h, d], 1, 2);
    const k = random([b, sk, h, d], 2, 2);
    const v = random([b, sk, h, d], 3);
    const scale = 1 / Math.sqrt(d);
    const ref = attentionRef(
      q.toFloat32Array(),
      k.toFloat32Array(),
      v.toFloat32Array(),
      b,
      sq,
      sk,
      h,
      d,
      scale,
    );
    const { out, lse } = ops.attentionWithLse(q, k, v, { scale });
    expect(out.shape).toEqual([b, sq, h, d]);
    expect(lse.shape).toEqual([b, h, sq]);
    expect(worstError(out.toFloat32Array(), ref.out, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(worstError(lse.toFloat32Array(), ref.lse, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(
      worstError(ops.attention(q, k, v, { scale }).toFloat32Array(), ref.out, 1e-4, 1e-5),
    ).toBeLessThanOrEqual(1);
  });

  it('a long sequence never holds the score matrix (20,000² scores would be 1.6 GB)', () => {
    const [s, d] = [20_000, 8];
    const q = random([1, s, 1, d], 11, 2);
    const k = random([1, s, 1, d], 12, 2);
    const v = random([1, s, 1, d], 13);
    const before = process.memoryUsage().rss;
    const { out, lse } = ops.attentionWithLse(q, k, v);
    const grew = process.memoryUsage().rss - before;
    // Packed K and Vᵀ (1.3 MB) and per-thread tiles; an S × S score matrix alone would be 1.6 GB.
    expect(grew).toBeLessThan(200 * 2 ** 20);
    // Three query rows against the direct computation (the reference for all rows would take minutes).
    const qs = q.toFloat32Array();
    const os = out.toFloat32Array();
    const ls = lse.toFloat32Array();
    for (const row of [0, 9_999, s - 1]) {
      const ref = attentionRef(
        qs.subarray(row * d, (row + 1) * d),
        k.toFloat32Array(),
        v.toFloat32Array(),
        1,
        1,
        s,
        1,
        d,
        1 / Math.sqrt(d),
      );
      expect(worstError(os.subarray(row * d, (row + 1) * d), ref.out, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
      expect(worstError(ls.subarray(row, row + 1), ref.lse, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  it('two halves of the keys merged through their lse equal attention over all keys (Ring attention)', () => {
    const [b, sq, sk, h, d] = [1, 40, 64, 2, 8];
    const q = random([b, sq, h, d], 4, 2);
    const k = random([b, sk, h, d], 5, 2);
    const v = random([b, sk, h, d], 6);
    const first = ops.attentionWithLse(q, k.narrow(1, 0, 32), v.narrow(1, 0, 32));
    const second = ops.attentionWithLse(q, k.narrow(1, 32, 32), v.narrow(1, 32, 32));
    const o1 = first.out.toFloat32Array();
    const o2 = second.out.toFloat32Array();
    const l1 = first.lse.toFloat32Array();
    const l2 = second.lse.toFloat32Array();
    const merged = new Float64Array(o1.length);
    for (let i = 0; i < sq; i++)
      for (let hi = 0; hi < h; hi++) {
        const a = l1[hi * sq + i] as number;
        const c = l2[hi * sq + i] as number;
        const l = Math.max(a, c) + Math.log(Math.exp(a - Math.max(a, c)) + Math.exp(c - Math.max(a, c)));
        for (let e = 0; e < d; e++) {
          const at = (i * h + hi) * d + e;
          merged[at] = Math.exp(a - l) * (o1[at] as number) + Math.exp(c - l) * (o2[at] as number);
        }
      }
    const full = ops.attention(q, k, v).toFloat32Array();
    expect(worstError(full, merged, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('reads bf16 and strided inputs, writes into out, and checks shapes', () => {
    const q = random([1, 6, 4, 8], 7);
    const kv = random([1, 10, 8, 8], 8);
    const k = kv.narrow(2, 0, 4); // strided view: heads 0..3 of 8
    const v = kv.narrow(2, 4, 4).to('bf16');
    const ref = attentionRef(q.toFloat32Array(), k.toFloat32Array(), v.toFloat32Array(), 1, 6, 10, 4, 8, 0.3);
    const out = Tensor.empty([1, 6, 4, 8]);
    expect(ops.attention(q, k, v, { scale: 0.3, out })).toBe(out);
    expect(worstError(out.toFloat32Array(), ref.out, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(() => ops.attention(q, random([1, 10, 3, 8], 9), random([1, 10, 3, 8], 9))).toThrow(
      /disagree on batch, heads/,
    );
    expect(() => ops.attention(q, k, v, { out: q })).toThrow(/must not share memory with q/);
  });
});
