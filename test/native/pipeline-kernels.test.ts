// The pipeline's CPU kernels (pipeline_kernels.h) against float64 references: exact GELU, quick GELU, and
// GroupNorm split into statistics and application (which must compose to GroupNorm).
import { describe, expect, it } from 'vitest';
import { ops, pipelineOps, Tensor } from '../../src/runtime/native/index.js';
import { groupNormRef, product, randomValues, worstError } from './reference.js';

const random = (shape: number[], seed: number, scale = 1): Tensor =>
  Tensor.fromArray(randomValues(product(shape), seed, scale), shape);

function erfRef(x: number): number {
  // Maclaurin series, converges fast for |x| ≤ 4 (the inputs are in [-4, 4]); beyond that erf is ±1 in double.
  if (Math.abs(x) > 5.5) return Math.sign(x);
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('text-encoder activations', () => {
  const x = random([3, 257], 11, 4);
  const values = x.toFloat32Array();

  it('geluErf = 0.5·x·(1 + erf(x/√2))', () => {
    const expected = Array.from(values, (v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2)));
    expect(worstError(pipelineOps.geluErf(x).toFloat32Array(), expected, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
  });

  it('quickGelu = x·σ(1.702·x), in place too', () => {
    const expected = Array.from(values, (v) => v / (1 + Math.exp(-1.702 * v)));
    const y = x.clone();
    pipelineOps.quickGelu(y, y);
    expect(worstError(y.toFloat32Array(), expected, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
  });
});

describe('GroupNorm in two halves', () => {
  it.each([
    [[1, 8, 5, 7], 4],
    [[2, 32, 3, 4], 32],
    [[1, 6, 9], 3],
  ])('x %j, %i groups: stats + apply = groupNorm, and the stats are (mean, M2)', (shape, groups) => {
    const x = random(shape, 5, 3);
    const [n, c] = shape as [number, number];
    const spatial = product(shape) / (n * c);
    const weight = random([c], 6);
    const bias = random([c], 7);
    const stats = pipelineOps.groupNormStats(x, groups).toFloat32Array();
    const values = x.toFloat32Array();
    const count = (c / groups) * spatial;
    const mean = new Float32Array(n * groups);
    const rstd = new Float32Array(n * groups);
    for (let g = 0; g < n * groups; g++) {
      const slice = values.subarray(g * count, (g + 1) * count);
      const m = slice.reduce((a, v) => a + v, 0) / count;
      const m2 = slice.reduce((a, v) => a + (v - m) ** 2, 0);
      expect(stats[2 * g]).toBeCloseTo(m, 6);
      expect(Math.abs((stats[2 * g + 1] as number) - m2) / m2).toBeLessThan(1e-6);
      mean[g] = stats[2 * g] as number;
      rstd[g] = 1 / Math.sqrt((stats[2 * g + 1] as number) / count + 1e-6);
    }
    const applied = pipelineOps.groupNormApply(
      x,
      groups,
      { mean: Tensor.fromArray(mean, [n, groups]), rstd: Tensor.fromArray(rstd, [n, groups]) },
      { weight, bias },
    );
    const expected = groupNormRef(
      values,
      n,
      c,
      spatial,
      groups,
      1e-6,
      weight.toFloat32Array(),
      bias.toFloat32Array(),
    );
    expect(worstError(applied.toFloat32Array(), expected, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const whole = ops.groupNorm(x, groups, { weight, bias, eps: 1e-6 });
    expect(worstError(applied.toFloat32Array(), whole.toFloat32Array(), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('bad groups and statistics shapes are refused naming the argument', () => {
    const x = random([1, 6, 2, 2], 1);
    expect(() => pipelineOps.groupNormStats(x, 4)).toThrow(/groups \(4\) must divide the channel count 6/);
    const wrong = Tensor.zeros([1, 2]);
    expect(() => pipelineOps.groupNormApply(x, 3, { mean: wrong, rstd: wrong })).toThrow(
      /groupNormApply mean/,
    );
  });
});

describe('torchRandn arguments', () => {
  it('refuses a negative seed, a negative size and an unknown path', () => {
    expect(() => pipelineOps.torchRandn(-1, [2])).toThrow(/non-negative/);
    expect(() => pipelineOps.torchRandn(1, [2, -1])).toThrow(/sizes must be non-negative/);
    expect(() => pipelineOps.torchRandn(1, [2], 'f32', 'sse' as 'avx2')).toThrow(/'avx2' or 'scalar'/);
  });
});
