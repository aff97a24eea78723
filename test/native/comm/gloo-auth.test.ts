/**
 * gloo connections inside a group: a pair's listening port admits only a connection that proves the
 * group secret, reads nothing but the 64-byte answer from anyone else, and keeps listening for the real
 * peer. Two ranks in this process; the stranger reads rank 0's pair address where any rank would (the
 * store, which the test may read: it holds the secret) and connects before rank 1 does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Communicator, createCommunicator } from '../../../src/runtime/comm/index.js';
import { newGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';
import { localStore, TEST_SECRET } from '../../support/group-secret.js';
import { authenticate, HELLO_BYTES, rawPeer } from './raw-peer.js';

const UNREADABLE_BYTES = 128 << 20;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The port in the first gloo address of a rank's published pair addresses (sockaddr_in: family, port BE). */
function firstPairPort(addresses: Uint8Array): number {
  const view = Buffer.from(addresses);
  expect(view.readUInt16LE(0)).toBe(2); // AF_INET
  return view.readUInt16BE(2);
}

describe('gloo pair connections', () => {
  it('close a stranger after its answer-sized prefix and still connect the real peer', async () => {
    const store = await localStore(20_000);
    closers.push(() => store.close());
    const options = { backend: 'gloo' as const, store, size: 2, prefix: 'auth', timeoutMs: 20_000 };
    const rank0 = createCommunicator({ ...options, rank: 0 });
    // Rank 0 publishes its pair's listening address, then waits for rank 1's.
    const key = 'tessera/auth/g0/coll/0';
    for (let i = 0; i < 400 && !(await store.check(key)); i++) await new Promise((r) => setTimeout(r, 10));
    const port = firstPairPort(await store.get(key));

    const stranger = await rawPeer(port);
    const hello = await stranger.read(HELLO_BYTES);
    expect(hello.subarray(0, 8).toString()).toBe('TSRAUTH1');
    // A gloo-looking payload instead of an answer: 64 bytes are read as the answer, the rest never. It
    // is larger than the kernel can hold for an unread socket (Linux's autotuned receive buffer grows to
    // tcp_rmem's 32 MiB, plus the send buffer), so only a reader could take all of it.
    const written = new Promise<boolean>((done) =>
      stranger.socket.write(Buffer.alloc(UNREADABLE_BYTES, 1), (err) => done(!err)),
    );
    await stranger.closed;
    expect(stranger.received().length).toBe(HELLO_BYTES);
    expect(await written).toBe(false);

    // One with a secret of another group is refused too.
    const impostor = await rawPeer(port);
    await expect(authenticate(impostor, newGroupSecret(), 'gloo')).rejects.toThrow(/closed/);
    // A proof made for the store does not open a gloo pair.
    const replayer = await rawPeer(port);
    await expect(authenticate(replayer, TEST_SECRET, 'store')).rejects.toThrow(/closed/);

    const rank1 = createCommunicator({ ...options, rank: 1 });
    const comms: Communicator[] = await Promise.all([rank0, rank1]);
    for (const c of comms) closers.push(() => c.close());
    const values = comms.map((c) => Float32Array.from([c.rank + 1, 10]));
    await Promise.all(comms.map((c, i) => c.allReduce(values[i] as Float32Array)));
    expect(values.map((v) => Array.from(v))).toEqual([
      [3, 20],
      [3, 20],
    ]);
  }, 60_000);
});
