import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Communicator, createCommunicator, type TcpStore } from '../../../src/runtime/comm/index.js';
import { localStore } from '../../support/group-secret.js';

// A one-rank gloo communicator: enough to check that bad arguments fail at once, by name, and leave the
// communicator healthy.
let store: TcpStore;
let comm: Communicator;
beforeAll(async () => {
  store = await localStore();
  comm = await createCommunicator({
    backend: 'gloo',
    store,
    rank: 0,
    size: 1,
    prefix: 'validation',
    timeoutMs: 5_000,
  });
});
afterAll(async () => {
  await comm.close();
  store.close();
});

describe('communicator argument checks', () => {
  it('rejects mismatched sizes, bad peers and unknown types with clear errors', async () => {
    await expect(comm.allGather(new Float32Array(3), new Float32Array(4))).rejects.toThrow(
      /allGather: output holds 16 bytes, expected size × input = 1 × 12/,
    );
    await expect(comm.allToAll(new Float32Array(3), new Float32Array(2))).rejects.toThrow(
      /input holds 12 bytes but output 8/,
    );
    await expect(comm.allToAllV(new Float32Array(3), [4], new Float32Array(3), [3])).rejects.toThrow(
      /input counts sum to 4 elements but the buffer holds 3/,
    );
    await expect(comm.broadcast(new Float32Array(1), 1)).rejects.toThrow(
      /root 1 is not a rank of this group of 1/,
    );
    await expect(comm.send(new Float32Array(1), 0)).rejects.toThrow(/peer 0 is this rank itself/);
    await expect(comm.recv(new Float32Array(1), 3)).rejects.toThrow(/peer 3 is not a rank/);
    await expect(comm.allReduce(new Uint16Array(2))).rejects.toThrow(/pass dtype/);
    await expect(comm.allReduce(new Float32Array(1), 'sum', 'q4' as 'f32')).rejects.toThrow(
      /unknown dtype 'q4'/,
    );
    expect(comm.failure).toBeUndefined();
  });

  it('a one-rank communicator computes locally', async () => {
    const a = Float32Array.of(1, 2);
    await comm.allReduce(a, 'max');
    expect(Array.from(a)).toEqual([1, 2]);
    const out = new Float32Array(2);
    await comm.allGather(Float32Array.of(5, 6), out);
    expect(Array.from(out)).toEqual([5, 6]);
    await comm.barrier();
  });

  it('abort rejects later operations with the reason and records it', async () => {
    const store2 = await localStore();
    const c = await createCommunicator({ backend: 'gloo', store: store2, rank: 0, size: 1, prefix: 'abort' });
    c.abort('planned shutdown');
    await expect(c.barrier()).rejects.toThrow(/planned shutdown/);
    expect(c.failure).toBe('planned shutdown');
    await c.close();
    store2.close();
  });

  it('rejects a rank outside the group before any rendezvous', async () => {
    await expect(createCommunicator({ backend: 'gloo', store, rank: 2, size: 2 })).rejects.toThrow(
      /rank must be an integer in \[0, 2\)/,
    );
  });

  it('a rendezvous whose peers never come rejects after the timeout', async () => {
    const started = performance.now();
    await expect(
      createCommunicator({ backend: 'gloo', store, rank: 0, size: 2, prefix: 'lonely', timeoutMs: 800 }),
    ).rejects.toThrow(
      /rendezvous \(gloo 'lonely'\) failed: store keys 'tessera\/lonely\/g0\/coll\/1' did not all appear within 800 ms/,
    );
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(5_000);
  });
});
