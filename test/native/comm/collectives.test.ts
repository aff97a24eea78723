import { afterEach, describe, expect, it } from 'vitest';
import { expectAllOk, killAll, runRanks } from './harness.js';

afterEach(killAll);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** What rank `r` of `n` must observe in the `collectives` scenario of worker.ts, derived independently. */
function expected(r: number, n: number): Record<string, unknown> {
  const triangle = (n * (n + 1)) / 2;
  const prev = (r + n - 1) % n;
  return {
    allReduceSumF32: range(5).map((i) => (i + 0.25) * triangle),
    allReduceMaxF64: range(3).map((i) => (i === 1 ? 0 : (n - 1) * 1.5 + i)),
    allReduceMaxI32: range(3).map((i) => (n - 1) * 7 - i),
    allReduceSumBf16: range(4).map(() => triangle),
    bigAllReduce: { first: triangle, last: triangle, allEqual: true },
    allGather: range(n).flatMap((src) => range(3).map((i) => src * 10 + i)),
    allToAll: range(n).flatMap((src) => [src * 100 + r * 10, src * 100 + r * 10 + 1]),
    allToAllV: range(n).flatMap((src) => range(r + 1).map((k) => src * 100 + r * 10 + k)),
    broadcast: [3.5, -1, 42],
    ringSendRecv: [prev, prev + 0.5],
    exchange: [prev * 3],
  };
}

describe.each([2, 4])('gloo collectives across %i processes on 127.0.0.1', (size) => {
  it('every collective and point-to-point transfer delivers the right values on every rank', async () => {
    const results = expectAllOk(await runRanks({ scenario: 'collectives', size, deadlineMs: 45_000 }));
    results.forEach((result, rank) => {
      const { barrierWaitedMs, ...values } = result;
      expect(values, `rank ${rank}`).toEqual(expected(rank, size));
      // Rank 0 reaches the barrier 300 ms late; nobody may leave it before rank 0 arrives.
      if (rank !== 0) expect(barrierWaitedMs as number, `rank ${rank} barrier wait`).toBeGreaterThan(150);
    });
  });
});

describe('native tensors as communicator buffers (2 processes)', () => {
  it('reduces and gathers f32 and bf16 tensors in place and refuses strided views', async () => {
    const results = expectAllOk(await runRanks({ scenario: 'tensors', size: 2, deadlineMs: 45_000 }));
    for (const [rank, result] of results.entries()) {
      expect(result, `rank ${rank}`).toEqual({
        f32: [3, 6, 1],
        bf16: [2, -1],
        bf16Dtype: 'bf16',
        gathered: [0, 0.25, 1, 1.25],
        strided: expect.stringMatching(/strided view/),
      });
    }
  });
});
