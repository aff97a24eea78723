import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpStore } from '../../../src/runtime/comm/index.js';
import { newGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';
import { TEST_SECRET } from '../../support/group-secret.js';
import { freePort } from './harness.js';
import { authenticate, HELLO_BYTES, rawPeer } from './raw-peer.js';

const opened: TcpStore[] = [];
async function open(
  port: number,
  isServer: boolean,
  timeoutMs = 5_000,
  secret = TEST_SECRET,
): Promise<TcpStore> {
  const store = await TcpStore.create({ host: '127.0.0.1', port, isServer, timeoutMs, secret });
  opened.push(store);
  return store;
}
afterEach(() => {
  for (const s of opened.splice(0).reverse()) s.close();
});

/**
 * Authenticates with the test's secret, sends raw bytes, and returns everything the store answers after
 * its proof until it closes the connection.
 */
async function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  const peer = await rawPeer(port);
  await authenticate(peer, TEST_SECRET, 'store');
  peer.socket.write(bytes);
  const timer = setTimeout(() => peer.socket.destroy(new Error('store did not close the connection')), 5_000);
  await peer.closed;
  clearTimeout(timer);
  return Buffer.from(peer.received().subarray(HELLO_BYTES + 32));
}

function errorReplyText(reply: Buffer): string {
  expect(reply.readUInt32LE(0)).toBe(reply.length - 4);
  expect(reply[4]).toBe(2); // ReplyStatus::kError
  return reply.subarray(9, 9 + reply.readUInt32LE(5)).toString();
}

describe('TCP store', () => {
  it('sets, gets, counts, checks and deletes keys across two connections', async () => {
    const server = await open(0, true);
    const client = await open(server.port, false);
    await server.set('a', 'alpha');
    expect(await client.getString('a')).toBe('alpha');
    expect(await client.add('n', 5)).toBe(5);
    expect(await server.add('n', -2)).toBe(3);
    expect(await client.check('a')).toBe(true);
    // Keys are written once: no client can overwrite a generation's rendezvous.
    await expect(client.set('a', 'other')).rejects.toThrow(/'a' is already set; keys are written once/);
    expect(await server.getString('a')).toBe('alpha');
    expect(await client.delete('a')).toBe(true);
    expect(await client.check('a')).toBe(false);
    expect(await client.delete('a')).toBe(false);
    await expect(client.add('missing-then-text', 1)).resolves.toBe(1);
    await server.set('text', 'x');
    await expect(client.add('text', 1)).rejects.toThrow(/not a counter/);
  });

  it('get and wait block until another rank sets the key', async () => {
    const server = await open(0, true);
    const client = await open(server.port, false);
    const pending = client.get('late', 5_000);
    const waited = server.wait(['late', 'later'], 5_000);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    const other = await open(server.port, false);
    await other.set('late', new Uint8Array([1, 2, 3]));
    expect(Array.from(await pending)).toEqual([1, 2, 3]);
    await other.set('later', '');
    await expect(waited).resolves.toBeUndefined();
  });

  it('a get of a key that never appears rejects at its timeout, naming the key', async () => {
    const server = await open(0, true);
    const started = performance.now();
    await expect(server.get('never', 300)).rejects.toThrow(/'never' did not appear within 300 ms/);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3_000);
    // The connection stays usable after a timeout reply.
    await server.set('after', '1');
    expect(await server.getString('after')).toBe('1');
  });

  it('a client that starts before the server keeps retrying until it is up', async () => {
    const port = await freePort();
    const early = TcpStore.create({
      host: '127.0.0.1',
      port,
      isServer: false,
      timeoutMs: 10_000,
      secret: TEST_SECRET,
    });
    await new Promise((r) => setTimeout(r, 400));
    const server = await open(port, true);
    const client = await early;
    opened.push(client);
    await server.set('k', 'v');
    expect(await client.getString('k')).toBe('v');
  });

  it('connecting gives up after the bounded retry time when no server ever comes', async () => {
    const port = await freePort();
    const started = performance.now();
    await expect(
      TcpStore.create({ host: '127.0.0.1', port, isServer: false, timeoutMs: 600, secret: TEST_SECRET }),
    ).rejects.toThrow(/cannot connect to the store/);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('rejects malformed frames with an error reply and closes only that connection', async () => {
    const server = await open(0, true);
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(0xffffffff, 0);
    expect(errorReplyText(await rawExchange(server.port, huge))).toMatch(
      /frame length 4294967295 is out of bounds/,
    );

    // A SET whose key claims 1000 bytes inside a 6-byte frame.
    const truncated = Buffer.from([6, 0, 0, 0, 1, 0xe8, 0x03, 0, 0, 0]);
    expect(errorReplyText(await rawExchange(server.port, truncated))).toMatch(/truncated/);

    const unknownOp = Buffer.from([1, 0, 0, 0, 99]);
    expect(errorReplyText(await rawExchange(server.port, unknownOp))).toMatch(/unknown store opcode 99/);

    // The server keeps serving well-formed clients.
    await server.set('still', 'up');
    expect(await server.getString('still')).toBe('up');
  });

  it('rejects a key longer than the protocol allows before sending anything', async () => {
    const server = await open(0, true);
    await expect(server.set('k'.repeat(5000), 'v')).rejects.toThrow(/store key must be 1..4096 bytes/);
  });

  it('a blocked get fails when the server goes away instead of waiting out its timeout', async () => {
    const server = await open(0, true);
    const client = await open(server.port, false);
    const pending = client.get('never', 20_000);
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    server.close();
    opened.splice(opened.indexOf(server), 1);
    await expect(pending).rejects.toThrow(/closed/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('TCP store: only the group gets in', () => {
  it('refuses a client without the secret after reading only its 64-byte answer, before any frame', async () => {
    const server = await open(0, true);
    const stranger = await rawPeer(server.port);
    expect((await stranger.read(HELLO_BYTES)).subarray(0, 8).toString()).toBe('TSRAUTH1');
    // Skips the exchange and sends a 64 MB SET straight away, as an outside client would.
    const frame = Buffer.alloc(64 << 20);
    frame.writeUInt32LE(frame.length - 4, 0);
    frame[4] = 1;
    frame.writeUInt32LE(1, 5);
    frame.write('k', 9);
    frame.writeUInt32LE(frame.length - 14, 10);
    stranger.socket.write(frame);
    await stranger.closed;
    // The store closed without a word after the answer-sized prefix, so the 64 MB never went in: the
    // kernel resets a connection closed with unread data, and the write fails (Node still calls the
    // write's callback without an error, so the socket's error is what tells).
    expect(stranger.received().length).toBe(HELLO_BYTES);
    expect(stranger.errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(ECONNRESET|EPIPE)$/)]),
    );
    expect(server.refusedConnections).toBe(1);
    expect(await server.check('k')).toBe(false);
  });

  it('refuses a client with another secret, naming the secret, and a store with another secret', async () => {
    const server = await open(0, true);
    await expect(open(server.port, false, 5_000, newGroupSecret())).rejects.toThrow(/group secret/);
    expect(server.refusedConnections).toBe(1);

    // A listener that answers the challenge exchange with a wrong proof: the client refuses it.
    const impostor = createServer((socket) => {
      socket.write(Buffer.concat([Buffer.from('TSRAUTH1'), Buffer.alloc(32, 7)]));
      socket.once('data', () => socket.write(Buffer.alloc(32, 9)));
    });
    await new Promise<void>((done) => impostor.listen(0, '127.0.0.1', done));
    const port = (impostor.address() as { port: number }).port;
    await expect(open(port, false)).rejects.toThrow(/does not hold this group's secret/);
    impostor.close();
  });

  it('refuses a 64 MB value (the cap is 1 MiB), on the client and on the server', async () => {
    const server = await open(0, true);
    await expect(server.set('big', new Uint8Array(64 << 20))).rejects.toThrow(/exceeds the limit/);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(64 << 20, 0);
    expect(errorReplyText(await rawExchange(server.port, header))).toMatch(/is out of bounds/);
    await server.set('small', new Uint8Array(1 << 20));
    expect((await server.get('small')).length).toBe(1 << 20);
  });
});
