/**
 * gloo connections inside a group: a pair's listening port admits only a connection that proves the
 * group secret, reads nothing but the 64-byte answer from anyone else, and keeps listening for the real
 * peer. Two ranks in this process; the stranger reads rank 0's pair address where any rank would (the
 * store, which the test may read: it holds the secret) and connects before rank 1 does.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Communicator, createCommunicator } from '../../../src/runtime/comm/index.js';
import { newGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';
import { localStore, TEST_SECRET } from '../../support/group-secret.js';
import { authenticate, HELLO_BYTES, rawPeer } from './raw-peer.js';

/**
 * How many bytes the kernel can hold for a connection nobody reads: the receiver's buffer plus the
 * sender's, at the largest sizes autotuning or SO_RCVBUF/SO_SNDBUF may reach on this machine (the CI
 * machine's limits differ from ours: a fixed 128 MiB payload was all buffered there). Anything written
 * beyond twice that can only have gone somewhere if the listener read it.
 */
function kernelBufferBound(): number {
  const largest = (path: string, fallback: number) => {
    try {
      return Math.max(...readFileSync(path, 'utf8').trim().split(/\s+/).map(Number));
    } catch {
      return fallback;
    }
  };
  const receive = Math.max(
    largest('/proc/sys/net/ipv4/tcp_rmem', 64 << 20),
    largest('/proc/sys/net/core/rmem_max', 0),
  );
  const send = Math.max(
    largest('/proc/sys/net/ipv4/tcp_wmem', 64 << 20),
    largest('/proc/sys/net/core/wmem_max', 0),
  );
  return 2 * (receive + send) + (16 << 20);
}

/**
 * Writes 4 MiB chunks, waiting for the socket to drain, until the connection is refused (reset or
 * closed) or `limit` bytes went out. Returns the bytes handed over before the refusal, or null if all
 * of `limit` went out without one.
 */
async function writeUntilRefused(socket: Socket, limit: number): Promise<number | null> {
  const chunk = Buffer.alloc(4 << 20, 1);
  let sent = 0;
  let refused = false;
  const stop = new Promise<void>((done) => {
    socket.once('close', () => {
      refused = true;
      done();
    });
    socket.once('error', () => {
      refused = true;
      done();
    });
  });
  while (sent < limit && !refused && !socket.destroyed) {
    const flushed = socket.write(chunk);
    sent += chunk.length;
    if (!flushed) await Promise.race([once(socket, 'drain'), stop]);
  }
  return refused || socket.destroyed ? sent : null;
}
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
    // A gloo-looking payload instead of an answer: 64 bytes are read as the answer, the rest never. The
    // stream goes on until the listener's reset refuses it, which must come before more than the
    // kernel's own buffers could hold: only a listener that reads would let it all through.
    const bound = kernelBufferBound();
    const written = writeUntilRefused(stranger.socket, bound);
    await stranger.closed;
    expect(stranger.received().length).toBe(HELLO_BYTES);
    const sent = await written;
    expect(sent, `a listener that reads took all ${bound} bytes`).not.toBeNull();
    expect(sent).toBeLessThan(bound);

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
