import { afterEach, describe, expect, it } from 'vitest';
import { expectAllOk, killAll, runRanks } from './harness.js';

afterEach(killAll);

describe('sub-communicators over 4 processes (ulysses 2 × ring 2)', () => {
  it('one communicator per mesh axis, plus explicit subgroups, each reducing over its own members', async () => {
    const results = expectAllOk(await runRanks({ scenario: 'subgroups', size: 4, deadlineMs: 45_000 }));
    results.forEach((result, rank) => {
      // rank = u + 2·r: Ulysses groups are contiguous pairs, Ring groups are strided by 2.
      const ulysses = rank < 2 ? [0, 1] : [2, 3];
      const ring = rank % 2 === 0 ? [0, 2] : [1, 3];
      const parity = rank % 2 === 0 ? [2, 0] : [3, 1];
      expect(result, `rank ${rank}`).toEqual({
        ulyssesMembers: ulysses,
        ringMembers: ring,
        ulyssesSum: ulysses[0]! + ulysses[1]!,
        ringSum: ring[0]! + ring[1]!,
        ringGather: ring,
        cfgSize: 1,
        cfgSum: rank,
        parityRank: parity.indexOf(rank),
        parityGather: parity,
        worldSum: 4,
      });
    });
  });
});
