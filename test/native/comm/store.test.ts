import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpStore } from '../../../src/runtime/comm/index.js';
import { freePort } from './harness.js';

const opened: TcpStore[] = [];
async function open(port: number, isServer: boolean, timeoutMs = 5_000): Promise<TcpStore> {
  const store = await TcpStore.create({ host: '127.0.0.1', port, isServer, timeoutMs });
  opened.push(store);
  return store;
}
afterEach(() => {
  for (const s of opened.splice(0).reverse()) s.close();
});

/** Sends raw bytes to the store and returns everything it answers until it closes the connection. */
function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => done(Buffer.concat(chunks)));
    socket.on('error', fail);
    socket.setTimeout(5_000, () => socket.destroy(new Error('store did not close the connection')));
  });
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
    const early = TcpStore.create({ host: '127.0.0.1', port, isServer: false, timeoutMs: 10_000 });
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
      TcpStore.create({ host: '127.0.0.1', port, isServer: false, timeoutMs: 600 }),
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
