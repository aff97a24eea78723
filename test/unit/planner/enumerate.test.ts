import { describe, expect, it } from 'vitest';
import { planShortString, worldSize } from '../../../src/shared/plan/index.js';
import { factorisations, groupSizes } from '../../../src/shared/planner/index.js';

/** Counts ordered 4-factorisations of n by brute force, independently of the planner's divisor walk. */
function bruteCount(n: number): number {
  let count = 0;
  for (let a = 1; a <= n; a++) {
    if (n % a) continue;
    for (let b = 1; b <= n / a; b++) {
      if ((n / a) % b) continue;
      for (let c = 1; c <= n / a / b; c++) if ((n / a / b) % c === 0) count++;
    }
  }
  return count;
}

describe('enumeration', () => {
  it('lists every factorisation with cfg 1 or 2, each once, multiplying to the GPU count', () => {
    for (const n of [1, 6, 8, 12, 1024]) {
      const all = factorisations(n);
      expect(all.every((d) => worldSize(d) === n)).toBe(true);
      expect(all.every((d) => d.cfg === 1 || d.cfg === 2)).toBe(true);
      expect(new Set(all.map(planShortString)).size).toBe(all.length);
      const expected = bruteCount(n) + (n % 2 === 0 ? bruteCount(n / 2) : 0);
      expect(all).toHaveLength(expected);
    }
  });

  it('expands a range of group sizes', () => {
    expect(groupSizes(4)).toEqual([4]);
    expect(groupSizes({ min: 2, max: 5 })).toEqual([2, 3, 4, 5]);
  });
});
