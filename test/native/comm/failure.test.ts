import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runRanks } from './harness.js';

afterEach(killAll);

const TIMEOUT_MS = 3_000;

describe('failures tear the communicator down instead of hanging', () => {
  it('killing one of 4 processes rejects the others’ pending and later operations within the timeout', async () => {
    const outcomes = await runRanks({
      scenario: 'peerDeath',
      size: 4,
      deadlineMs: 45_000,
      env: { COMM_TEST_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    expect(outcomes[3]?.signal).toBe('SIGKILL');
    for (const o of outcomes.slice(0, 3)) {
      expect(o.code, `rank ${o.rank} stderr: ${o.stderr}`).toBe(0);
      const r = o.result as Record<string, unknown>;
      expect(r.collective as string).toMatch(/allReduce .* failed: gloo/);
      expect(r.rejectedAfterMs as number).toBeLessThan(TIMEOUT_MS);
      // Torn down: a later operation fails at once with the recorded failure.
      expect(r.later as string).toMatch(/barrier .* failed/);
      expect(r.laterMs as number).toBeLessThan(500);
      expect(r.failure as string).toMatch(/gloo/);
    }
    // Rank 0 also had a recv from the dead rank pending: rejected, not left hanging.
    expect(outcomes[0]?.result?.recvOutcome as string).toMatch(/recv .* failed/);
  });

  it('a live peer that never joins makes the collective reject at the timeout', async () => {
    const outcomes = await runRanks({
      scenario: 'stalledPeer',
      size: 2,
      deadlineMs: 45_000,
      env: { COMM_TEST_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    const r = outcomes[0]?.result as Record<string, unknown>;
    expect(outcomes[0]?.code, outcomes[0]?.stderr).toBe(0);
    expect(r.collective as string).toMatch(/timed out/i);
    expect(r.rejectedAfterMs as number).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    expect(r.rejectedAfterMs as number).toBeLessThan(TIMEOUT_MS + 2_000);
  });

  it('abort() rejects a pending recv at once and the peer’s next operation fails fast', async () => {
    const outcomes = await runRanks({
      scenario: 'abortPending',
      size: 2,
      deadlineMs: 45_000,
      env: { COMM_TEST_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    const [aborter, peer] = outcomes.map((o) => {
      expect(o.code, `rank ${o.rank} stderr: ${o.stderr}`).toBe(0);
      return o.result as Record<string, unknown>;
    });
    expect(aborter?.recv as string).toMatch(/recv .* failed: .*rank 0 is shutting down/);
    expect(aborter?.rejectedAfterMs as number).toBeLessThan(500);
    expect(aborter?.failure).toBe('rank 0 is shutting down');
    expect(peer?.barrier as string).toMatch(/barrier .* failed/);
    expect(peer?.rejectedAfterMs as number).toBeLessThan(TIMEOUT_MS);
  });

  it('survivors of a dead rank rebuild a smaller communicator under the next generation', async () => {
    const outcomes = await runRanks({
      scenario: 'rebuild',
      size: 3,
      deadlineMs: 45_000,
      env: { COMM_TEST_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    expect(outcomes[2]?.signal).toBe('SIGKILL');
    for (const o of outcomes.slice(0, 2)) {
      expect(o.code, `rank ${o.rank} stderr: ${o.stderr}`).toBe(0);
      expect(o.result?.lost as string).toMatch(/allReduce .* failed/);
      expect(o.result?.rebuiltSum).toBe(3);
    }
  });
});
