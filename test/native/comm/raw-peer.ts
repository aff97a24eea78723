/**
 * A raw TCP peer for the group-network tests: it speaks the authentication exchange of
 * native/src/store/group_auth.h from its description (magic + nonce, answer, proof) with node:crypto —
 * or deliberately does not — and then sends whatever bytes a test wants.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const HELLO_BYTES = 40;
const MAGIC = Buffer.from('TSRAUTH1');

export type Purpose = 'store' | 'gloo';

export function proof(
  secret: Uint8Array,
  purpose: Purpose,
  side: 'client' | 'server',
  ns: Buffer,
  nc: Buffer,
) {
  return createHmac('sha256', secret).update(`tessera-${purpose} ${side}`).update(ns).update(nc).digest();
}

export interface RawPeer {
  socket: Socket;
  /** Resolves with the first `n` bytes received in all (the buffer keeps what came after). */
  read(n: number): Promise<Buffer>;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when the other side has closed the connection. */
  closed: Promise<void>;
  /** Write errors seen (EPIPE / ECONNRESET once the other side has closed). */
  errors: Error[];
}

export function rawPeer(port: number): Promise<RawPeer> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const waiters: (() => void)[] = [];
    const errors: Error[] = [];
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => {
      for (const w of waiters.splice(0)) w();
    });
    socket.on('error', (err) => errors.push(err));
    socket.once('connect', () =>
      done({
        socket,
        errors,
        closed,
        received: () => data,
        read: async (n) => {
          while (data.length < n) {
            if (socket.destroyed) throw new Error(`connection closed after ${data.length} of ${n} bytes`);
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
          return data.subarray(0, n);
        },
      }),
    );
    socket.once('error', fail);
  });
}

/** Answers the listener's challenge with `secret` and checks its proof; resolves once authenticated. */
export async function authenticate(peer: RawPeer, secret: Uint8Array, purpose: Purpose): Promise<void> {
  const hello = await peer.read(HELLO_BYTES);
  if (!hello.subarray(0, 8).equals(MAGIC)) throw new Error('not a Tessera challenge');
  const ns = Buffer.from(hello.subarray(8, HELLO_BYTES));
  const nc = randomBytes(32);
  peer.socket.write(Buffer.concat([nc, proof(secret, purpose, 'client', ns, nc)]));
  const answer = (await peer.read(HELLO_BYTES + 32)).subarray(HELLO_BYTES);
  if (!answer.equals(proof(secret, purpose, 'server', ns, nc))) throw new Error('wrong server proof');
}
