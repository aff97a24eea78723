import { afterEach, describe, expect, it } from 'vitest';
import { expectAllOk, killAll, runRanks } from './harness.js';

afterEach(killAll);

describe('operations in flight together (2 processes)', () => {
  it('a pending send does not hold up a collective, the event loop keeps running, tags match out of order', async () => {
    const [sender, receiver] = expectAllOk(
      await runRanks({ scenario: 'overlap', size: 2, deadlineMs: 45_000 }),
    );
    // Rank 0 posted its send first, yet its allReduce completed while the send waited for the late recv.
    expect(sender?.events).toEqual(['allReduce', 'send']);
    expect(receiver?.events).toEqual(['allReduce', 'recv']);
    // ≥ 300 ms of waiting with a 10 ms interval: the loop ran (it would be 0 if the wait blocked it).
    expect(sender?.ticksWhileWaiting as number).toBeGreaterThan(10);
    expect(receiver?.bigReceived).toEqual({ first: 7, allEqual: true });
    // Eight sends in flight, received in reverse tag order: each lands in the buffer of its own tag.
    expect(receiver?.tagged).toEqual([0, 1.5, 3, 4.5, 6, 7.5, 9, 10.5]);
  });
});
