// Tensor storage, dtypes, views, zero-copy exchange with typed arrays, release, and the CUDA error.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ops, Tensor } from '../../src/runtime/native/index.js';

describe('Tensor', () => {
  it('shares memory with the typed array it was made from, both ways', () => {
    const array = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = Tensor.fromArray(array, [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.strides).toEqual([3, 1]);
    array[4] = 50;
    expect(t.data()[4]).toBe(50);
    ops.affine(t, 2, 0, t);
    expect(Array.from(array)).toEqual([2, 4, 6, 8, 100, 12]);
  });

  it('data() of a native tensor is a view of its memory', () => {
    const t = Tensor.zeros([4]);
    const view = t.data() as Float32Array;
    view[2] = 7;
    expect(t.toFloat32Array()).toEqual(new Float32Array([0, 0, 7, 0]));
  });

  it('converts bf16 with round-to-nearest-even and f16 exactly where representable', () => {
    // 1 + 2^-8 is halfway between two bf16 values and rounds to even (1.0); 1 + 3·2^-8 rounds up.
    const x = Tensor.of([1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5, 65504, 1e-7], [5]);
    const bf = x.to('bf16');
    expect(bf.dtype).toBe('bf16');
    expect(Array.from(bf.data() as Uint16Array).slice(0, 3)).toEqual([0x3f80, 0x3f82, 0xc020]);
    const h = x.to('f16');
    const back = h.toFloat32Array();
    expect(back[2]).toBe(-2.5);
    expect(back[3]).toBe(65504);
    expect(back[4]).toBeCloseTo(1.1920929e-7, 12); // f16 subnormal nearest to 1e-7 (2 × 2^-24)
    expect(Array.from(Tensor.fromArray(new Uint16Array([0x3fc0]), [1]).toFloat32Array())).toEqual([1.5]);
  });

  it('narrow, slice and split are views; permute then contiguous copies in the new order', () => {
    const t = Tensor.of([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4]);
    const cols = t.slice(1, 1, 3);
    expect(cols.shape).toEqual([3, 2]);
    expect(cols.isContiguous).toBe(false);
    expect(cols.sharesStorage(t)).toBe(true);
    expect(Array.from(cols.toFloat32Array())).toEqual([1, 2, 5, 6, 9, 10]);
    const [a, b] = t.split([1, 2], 0) as [Tensor, Tensor];
    expect(Array.from(b.toFloat32Array())).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(a.isContiguous).toBe(true);
    const tr = t.transpose(0, 1).contiguous();
    expect(Array.from(tr.toFloat32Array())).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(t.reshape([2, -1]).shape).toEqual([2, 6]);
    expect(cols.reshape([6]).sharesStorage(t)).toBe(false);
    expect(() => t.narrow(0, 2, 2)).toThrow(/range \[2, 4\) is outside axis 0 of size 3/);
    expect(() => t.reshape([5, -1])).toThrow(/cannot infer -1/);
  });

  it('copyFrom converts dtype and layout into existing memory', () => {
    const dst = Tensor.zeros([2, 2], 'bf16');
    dst.copyFrom(Tensor.of([1, 2, 3, 4], [2, 2]).transpose(0, 1));
    expect(Array.from(dst.toFloat32Array())).toEqual([1, 3, 2, 4]);
  });

  it('release frees this reference; views keep their memory; use after release is an error', () => {
    const t = Tensor.of([1, 2, 3], [3]);
    const view = t.narrow(0, 1, 2);
    t.release();
    expect(t.released).toBe(true);
    expect(Array.from(view.toFloat32Array())).toEqual([2, 3]);
    expect(() => t.toFloat32Array()).toThrow(/has been released/);
    expect(() => ops.gelu(t)).toThrow(/has been released/);
  });

  it('rejects bad shapes, dtypes and typed arrays with the reason', () => {
    expect(() => Tensor.empty([2, -1])).toThrow(/negative dimension/);
    expect(() => Tensor.fromArray(new Float32Array(5), [2, 3])).toThrow(/needs 6 elements, the array has 5/);
    expect(() => Tensor.fromArray(new Float32Array(2), [2], 'bf16')).toThrow(/Float32Array holds f32/);
    expect(() => Tensor.empty([1], 'f64' as 'f32')).toThrow(/dtype must be/);
  });

  it('a data() view keeps the memory alive after the tensor is released', () => {
    const t = Tensor.of([4, 5, 6], [3]);
    const view = t.data() as Float32Array;
    t.release();
    expect(Array.from(view)).toEqual([4, 5, 6]);
  });

  it('a released large tensor gives its memory back to the OS, also after a larger one was freed', () => {
    // Through malloc, glibc raises its mmap threshold to the size of a freed mapped chunk; smaller
    // tensors then come from the heap and stay resident once released (~40 MiB here before the fix).
    const residentMiB = () =>
      Number(readFileSync('/proc/self/status', 'utf8').match(/^VmRSS:\s+(\d+)/m)?.[1]) / 1024;
    const filled = (floats: number) => {
      const t = Tensor.empty([floats]);
      ops.affine(t, 0, 1, t); // touch every page
      return t;
    };
    filled(4 << 20).release(); // 16 MiB
    const before = residentMiB();
    const held = Array.from({ length: 10 }, () => filled(1 << 20)); // 10 × 4 MiB
    const last = held.pop() as Tensor;
    for (const t of held) t.release();
    // Only the last 4 MiB tensor is still held.
    expect(residentMiB() - before).toBeLessThan(12);
    last.release();
  });

  it('thread count is configurable', () => {
    const before = ops.numThreads();
    ops.setNumThreads(1);
    expect(ops.numThreads()).toBe(1);
    ops.setNumThreads(before);
    expect(ops.numThreads()).toBe(before);
  });
});
