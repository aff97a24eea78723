// The step kernels on the CPU (native/src/kernels/step_kernels.h): the host math they replace gives the
// very same bits (Euler step, CFG combine, timestep embedding), the fused chains equal their unfused
// kernels bit for bit, and the LSE merge of two key halves equals attention over all keys.
import { describe, expect, it } from 'vitest';
import { combineGuidance } from '../../src/runtime/guidance/true-cfg.js';
import { timestepSinusoid } from '../../src/runtime/models/common/timestep-embedding.js';
import { ops, Tensor, transferCounts } from '../../src/runtime/native/index.js';
import { eulerStep, type Schedule } from '../../src/runtime/scheduler/flow-match-euler.js';
import { product, randomValues, worstError } from './reference.js';

const random = (shape: number[], seed: number, scale = 1): Tensor =>
  Tensor.fromArray(randomValues(product(shape), seed, scale), shape);
const bits = (t: Tensor): number[] => Array.from(new Uint32Array(t.toFloat32Array().buffer));
const arrayBits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer));

describe('scaledAdd (the Euler step)', () => {
  it('gives the bits of the TypeScript step for f32 and bf16 velocities, in place too', () => {
    const sample = random([2, 64, 16], 1);
    const velocity = random([2, 64, 16], 2, 3);
    const schedule: Schedule = {
      timesteps: Float32Array.of(1000, 500),
      sigmas: Float32Array.of(1, 0.6180339, 0),
    };
    const dt = Math.fround((schedule.sigmas[1] as number) - (schedule.sigmas[0] as number));
    const expected = eulerStep(schedule, 0, sample.toFloat32Array(), velocity.toFloat32Array());
    expect(bits(ops.scaledAdd(sample, velocity, dt))).toEqual(arrayBits(expected));

    const bf16 = velocity.to('bf16');
    const expectedBf16 = eulerStep(schedule, 0, sample.toFloat32Array(), bf16.toFloat32Array());
    const inPlace = sample.clone();
    expect(ops.scaledAdd(inPlace, bf16, dt, inPlace)).toBe(inPlace);
    expect(bits(inPlace)).toEqual(arrayBits(expectedBf16));
  });

  it('names the shapes when they differ', () => {
    expect(() => ops.scaledAdd(random([2, 3], 1), random([3, 2], 2), 0.5)).toThrow(
      /scaledAdd: shapes differ: f32\[2, 3\] and f32\[3, 2\]/,
    );
  });
});

describe('guidanceCombine (true CFG)', () => {
  it('gives the bits of the TypeScript combine', () => {
    const uncond = random([1, 4, 8, 8], 3);
    const cond = random([1, 4, 8, 8], 4);
    const expected = combineGuidance(uncond.toFloat32Array(), cond.toFloat32Array(), 4.5);
    expect(bits(ops.guidanceCombine(uncond, cond, 4.5))).toEqual(arrayBits(expected));
  });

  it('refuses a scale that is not finite', () => {
    expect(() => ops.guidanceCombine(random([2], 1), random([2], 2), Number.NaN)).toThrow(/finite/);
  });
});

describe('timestepSinusoid', () => {
  it('gives the bits of the TypeScript embedding at Flux and SD3 timesteps', () => {
    const timesteps = [1000, 999.5, 0.75, 28.125];
    expect(bits(ops.timestepSinusoid(timesteps))).toEqual(bits(timestepSinusoid(timesteps)));
  });

  it('puts sin first without the flip and honours the frequency shift', () => {
    const [t] = [3.5];
    const out = ops
      .timestepSinusoid([t], { channels: 8, flipSinToCos: false, downscaleFreqShift: 1 })
      .toFloat32Array();
    for (let j = 0; j < 4; j++) {
      const omega = Math.exp((-Math.log(10000) * j) / (4 - 1));
      expect(out[j]).toBeCloseTo(Math.sin(t * omega), 6);
      expect(out[4 + j]).toBeCloseTo(Math.cos(t * omega), 6);
    }
  });

  it('refuses an odd width', () => {
    expect(() => ops.timestepSinusoid([1], { channels: 7 })).toThrow(/channels must be even/);
  });
});

describe('fused chains equal their unfused kernels', () => {
  it('layerNormModulate = layerNorm then modulate (per-sample and shared vectors)', () => {
    const x = random([2, 5, 24], 5);
    for (const [shift, scale] of [
      [random([2, 24], 6), random([2, 24], 7)],
      [random([24], 8), random([24], 9)],
    ] as const) {
      const unfused = ops.modulate(ops.layerNorm(x), shift, scale);
      expect(bits(ops.layerNormModulate(x, shift, scale))).toEqual(bits(unfused));
    }
  });

  it('rmsNormRope = rmsNorm then rope, written at its offset of the joint sequence', () => {
    const [b, text, image, h, d] = [1, 3, 5, 2, 8];
    const q = random([b, image, h, d], 10);
    const weight = random([d], 11);
    const cos = random([text + image, d], 12);
    const sin = random([text + image, d], 13);
    const joint = Tensor.zeros([b, text + image, h, d]);
    expect(ops.rmsNormRope(q, { weight, cos, sin, out: joint, outOffset: text })).toBe(joint);
    const normed = ops.rmsNorm(q, { weight });
    const rotated = ops.rope(normed, cos.narrow(0, text, image), sin.narrow(0, text, image));
    expect(bits(joint.narrow(1, text, image))).toEqual(bits(rotated));
    expect(Array.from(joint.narrow(1, 0, text).toFloat32Array()).every((v) => v === 0)).toBe(true);
    // Without tables: the norm alone, into a fresh tensor.
    expect(bits(ops.rmsNormRope(q, { weight }))).toEqual(bits(normed));
  });

  it('rmsNormRope names tokens that do not fit the output', () => {
    const q = random([1, 4, 1, 8], 14);
    expect(() => ops.rmsNormRope(q, { out: Tensor.zeros([1, 5, 1, 8]), outOffset: 2 })).toThrow(
      /tokens \[2, 6\) do not fit an output of 5 tokens/,
    );
    expect(() => ops.rmsNormRope(q, { cos: random([4, 8], 1) })).toThrow(/cos and sin together/);
  });

  it('linearGelu = linear then gelu', () => {
    const x = random([3, 7, 16], 15);
    const w = random([12, 16], 16);
    const bias = random([12], 17);
    expect(bits(ops.linearGelu(x, w, bias))).toEqual(bits(ops.gelu(ops.linear(x, w, bias))));
  });
});

describe('lseMerge (Ring attention)', () => {
  it('merging the halves of the keys gives attention over all keys', () => {
    const [b, sq, sk, h, d] = [2, 6, 10, 3, 8];
    const q = random([b, sq, h, d], 20);
    const k = random([b, sk, h, d], 21);
    const v = random([b, sk, h, d], 22);
    const full = ops.attentionWithLse(q, k, v);
    const first = ops.attentionWithLse(q, k.narrow(1, 0, 4).contiguous(), v.narrow(1, 0, 4).contiguous());
    const second = ops.attentionWithLse(q, k.narrow(1, 4, 6).contiguous(), v.narrow(1, 4, 6).contiguous());
    ops.lseMerge(first.out, first.lse, second.out, second.lse);
    expect(worstError(first.out.toFloat32Array(), full.out.toFloat32Array(), 1e-5, 1e-6)).toBeLessThanOrEqual(
      1,
    );
    expect(worstError(first.lse.toFloat32Array(), full.lse.toFloat32Array(), 1e-6, 1e-6)).toBeLessThanOrEqual(
      1,
    );
  });

  it('names a running output that is not contiguous f32', () => {
    const o = random([1, 2, 1, 4], 1).to('bf16');
    const lse = random([1, 1, 2], 2);
    expect(() => ops.lseMerge(o, lse, random([1, 2, 1, 4], 3), random([1, 1, 2], 4))).toThrow(
      /out must be contiguous f32/,
    );
  });
});

describe('host↔device copies on the CPU', () => {
  it('CPU work makes none, and fromArray / data() share the array memory', () => {
    const before = transferCounts();
    const values = randomValues(32, 30);
    const x = Tensor.fromArray(values, [4, 8]);
    const y = ops.scaledAdd(x, x, 0.5);
    ops.guidanceCombine(x, y, 2, y);
    expect(transferCounts()).toEqual(before);
    // Zero copy both ways: a write through the array shows in the tensor and back.
    values[3] = 42;
    expect(x.toFloat32Array()[3]).toBe(42);
    (x.data() as Float32Array)[5] = -7;
    expect(values[5]).toBe(-7);
  });
});
