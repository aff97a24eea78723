// Requests refused for who sends them (no token) or for their declared size are answered from the
// headers alone: a client that asks `Expect: 100-continue` gets the refusal instead of "100 Continue",
// and one that just streams its upload gets the refusal and a closed connection instead of the server
// reading 300 MB to the end. Raw sockets, because fetch hides 100-continue and half-sent bodies.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fluxBody, InstantExecutor, startServer } from './harness.js';
import { serverPerTest } from './server-per-test.js';

const server = serverPerTest();

/** Starts the test's server and returns its base URL. */
async function serve(authToken?: string): Promise<string> {
  server.current = await startServer(new InstantExecutor(), authToken === undefined ? {} : { authToken });
  return server.current.base;
}
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

interface RawExchange {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once `text` has arrived, or rejects after `ms`. */
  waitFor(text: string, ms?: number): Promise<string>;
  /** Resolves with how the connection ended: 'end' (the server closed it) or 'timeout'. */
  closed(ms: number): Promise<'end' | 'timeout'>;
}

function open(base: string, head: string): Promise<RawExchange> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      let data = '';
      let ended = false;
      const endWaiters: (() => void)[] = [];
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
      });
      const onEnd = () => {
        ended = true;
        for (const w of endWaiters.splice(0)) w();
      };
      socket.on('end', onEnd);
      socket.on('close', onEnd);
      socket.on('error', () => undefined);
      socket.write(head);
      resolve({
        socket,
        received: () => data,
        waitFor: async (text, ms = 2_000) => {
          const until = Date.now() + ms;
          while (!data.includes(text)) {
            if (Date.now() > until)
              throw new Error(`no ${JSON.stringify(text)} within ${ms} ms; got ${data}`);
            await new Promise((r) => setTimeout(r, 5));
          }
          return data;
        },
        closed: (ms) =>
          ended
            ? Promise.resolve('end')
            : new Promise((done) => {
                const timer = setTimeout(() => done('timeout'), ms);
                endWaiters.push(() => {
                  clearTimeout(timer);
                  done('end');
                });
              }),
      });
    });
    sockets.push(socket);
    socket.once('error', reject);
  });
}

const HUGE = 301_000_000;

function headers(lines: Record<string, string | number>): string {
  const all = { host: 'leader', 'content-type': 'application/json', ...lines };
  return `POST /v1/denoise HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

describe('refusals answered before the body is read', () => {
  it('Expect: 100-continue without a token gets 401, never 100 Continue', async () => {
    const base = await serve('s3cret-token');
    const raw = await open(base, headers({ 'content-length': HUGE, expect: '100-continue' }));
    const text = await raw.waitFor('\r\n\r\n');
    expect(text.startsWith('HTTP/1.1 401 ')).toBe(true);
    expect(text).not.toContain('100 Continue');
  });

  it('Expect: 100-continue with a body over the limit gets 413, with a token 100 Continue', async () => {
    const base = await serve('s3cret-token');
    const auth = { authorization: 'Bearer s3cret-token' };
    const big = await open(base, headers({ ...auth, 'content-length': HUGE, expect: '100-continue' }));
    expect((await big.waitFor('\r\n\r\n')).startsWith('HTTP/1.1 413 ')).toBe(true);

    const body = JSON.stringify(fluxBody());
    const fine = await open(
      base,
      headers({ ...auth, 'content-length': Buffer.byteLength(body), expect: '100-continue' }),
    );
    await fine.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
    fine.socket.write(body);
    expect(await fine.waitFor('HTTP/1.1 200 ')).toContain('HTTP/1.1 200 ');
  });

  it('an upload without a token is answered 401 and its connection closed, not read to the end', async () => {
    const base = await serve('s3cret-token');
    const raw = await open(base, headers({ 'content-length': HUGE }));
    // The first megabyte of a 301 MB body; the rest never comes unless the server keeps reading.
    raw.socket.write(Buffer.alloc(1 << 20, 0x20));
    const text = await raw.waitFor('\r\n\r\n');
    expect(text.startsWith('HTTP/1.1 401 ')).toBe(true);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(await raw.closed(3_000)).toBe('end');
  });

  it('a declared size over the limit is answered 413 and its connection closed', async () => {
    const base = await serve();
    const raw = await open(base, headers({ 'content-length': HUGE }));
    raw.socket.write(Buffer.alloc(1 << 20, 0x20));
    expect((await raw.waitFor('\r\n\r\n')).startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(await raw.closed(3_000)).toBe('end');
  });
});
