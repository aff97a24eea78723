import { describe, expect, it } from 'vitest';
import {
  axisGroup,
  axisGroups,
  coordsToRank,
  type Degrees,
  rankToCoords,
} from '../../src/shared/plan/index.js';

const d: Degrees = { dataParallel: 2, cfg: 2, pipefusion: 2, ring: 3, ulysses: 2 };

describe('mesh', () => {
  it('follows rank = u + U·(r + R·(p + P·(c + C·d)))', () => {
    const c = { ulysses: 1, ring: 2, pipefusion: 1, cfg: 0, dataParallel: 1 };
    expect(coordsToRank(c, d)).toBe(1 + 2 * (2 + 3 * (1 + 2 * (0 + 2 * 1))));
  });
  it('round-trips every rank', () => {
    for (let r = 0; r < 48; r++) expect(coordsToRank(rankToCoords(r, d), d)).toBe(r);
  });
  it('keeps Ulysses innermost and data parallel outermost', () => {
    expect(axisGroup(0, 'ulysses', d)).toEqual([0, 1]);
    expect(axisGroup(0, 'ring', d)).toEqual([0, 2, 4]);
    expect(axisGroup(0, 'dataParallel', d)).toEqual([0, 24]);
  });
  it('partitions the world along each axis', () => {
    const groups = axisGroups('ring', d);
    expect(groups).toHaveLength(16);
    expect(new Set(groups.flat()).size).toBe(48);
  });
  it('rejects ranks outside the mesh', () => {
    expect(() => rankToCoords(48, d)).toThrow(/outside the mesh of 48/);
  });
});
