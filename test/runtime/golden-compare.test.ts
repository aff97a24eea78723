import { describe, expect, it } from 'vitest';
import { compareToGolden } from '../support/golden-compare.js';

describe('compareToGolden', () => {
  const tol = { atol: 1e-5, rtol: 1e-4 };

  it('passes within atol + rtol·|golden| and reports the max difference', () => {
    const r = compareToGolden([1.00005, -2], [1, -2], tol, 'x');
    expect(r.ok).toBe(true);
    expect(r.maxAbsDiff).toBeCloseTo(5e-5, 9);
  });

  it('fails past the bound and names the worst element', () => {
    const r = compareToGolden([0, 0.5, 0.001], [0, 0.5, 0], tol, 'sample');
    expect(r.ok).toBe(false);
    expect(r.worstIndex).toBe(2);
    expect(r.message).toMatch(/sample: max \|diff\| 0\.001 .*worst at \[2\]/);
  });

  it('fails on NaN and on length mismatch', () => {
    expect(compareToGolden([Number.NaN], [0], tol, 'n').ok).toBe(false);
    expect(compareToGolden([0, 0], [0], tol, 'len').message).toMatch(/2 values, golden has 1/);
  });
});
