/**
 * The comm thread of a rank (see blocking-comm.ts): owns its own communicators for the Ulysses and Ring
 * axes and performs the requests the main thread posts while that thread blocks. gloo's buffers must be
 * plain (non-shared) memory, so data is staged through private copies.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { log } from '../../shared/log.js';
import { type Communicator, createCommunicator, TcpStore } from '../comm/index.js';
import {
  MESSAGE_BYTES,
  STATUS_DONE,
  STATUS_FAILED,
  type ThreadRequest,
  type ThreadSetup,
} from './comm-thread-protocol.js';

const setup = workerData as ThreadSetup;
const logger = log.child({ component: 'comm-thread', rank: setup.rank });

function settle(status: SharedArrayBuffer, message: SharedArrayBuffer, err?: unknown): void {
  const flag = new Int32Array(status);
  if (err !== undefined) {
    const text = new TextEncoder().encode(err instanceof Error ? err.message : String(err));
    const bytes = new Uint8Array(message);
    const n = Math.min(text.length, MESSAGE_BYTES - 4);
    new DataView(message).setUint32(0, n, true);
    bytes.set(text.subarray(0, n), 4);
    Atomics.store(flag, 0, STATUS_FAILED);
  } else {
    Atomics.store(flag, 0, STATUS_DONE);
  }
  Atomics.notify(flag, 0);
}

const privateCopy = (shared: SharedArrayBuffer) => new Uint8Array(new Uint8Array(shared));

async function open(): Promise<{
  store: TcpStore;
  comms: Record<'ulysses' | 'ring', Communicator>;
  world: Communicator;
}> {
  const store = await TcpStore.create({
    host: setup.host,
    port: setup.port,
    isServer: false,
    timeoutMs: setup.timeoutMs,
  });
  const world = await createCommunicator({
    backend: setup.backend,
    store,
    rank: setup.rank,
    size: setup.size,
    prefix: `${setup.prefix}/sp-thread`,
    generation: setup.generation,
    timeoutMs: setup.timeoutMs,
    logger,
    ...(setup.listenHost !== undefined ? { listenHost: setup.listenHost } : {}),
  });
  const ulysses = await world.subgroup(setup.ulyssesRanks, 'ulysses');
  const ring = await world.subgroup(setup.ringRanks, 'ring');
  return { store, world, comms: { ulysses, ring } };
}

/**
 * Collects the closed communicators while this thread's environment is alive. Left to environment
 * teardown at process exit, the addon's communicator finalizer releases a thread-safe function that is
 * already gone and aborts the process (native/src/comm, reported to its owners).
 */
async function collectClosedCommunicators(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((done) => setImmediate(done));
  }
}

type Opened = Awaited<ReturnType<typeof open>>;

/** The thread's communicators; dropped at close so they can be collected. */
let live: Opened | undefined;

function current(): Opened {
  if (!live) throw new Error('the comm thread is closed');
  return live;
}

async function handle(request: ThreadRequest): Promise<void> {
  switch (request.kind) {
    case 'allToAll':
    case 'allGather': {
      const input = privateCopy(request.input);
      const output = new Uint8Array(request.output.byteLength);
      const f32in = new Float32Array(input.buffer);
      const f32out = new Float32Array(output.buffer);
      const comm = current().comms[request.axis];
      await (request.kind === 'allToAll' ? comm.allToAll(f32in, f32out) : comm.allGather(f32in, f32out));
      new Uint8Array(request.output).set(output);
      return;
    }
    case 'exchange': {
      const sends = request.sends.map((t) => ({
        buf: new Float32Array(privateCopy(t.data).buffer),
        peer: t.peer,
        tag: t.tag,
      }));
      const recvs = request.recvs.map((t) => ({
        buf: new Float32Array(t.data.byteLength / 4),
        peer: t.peer,
        tag: t.tag,
      }));
      await current().comms[request.axis].exchange({ sends, recvs });
      for (const [i, t] of request.recvs.entries()) new Float32Array(t.data).set(recvs[i]?.buf ?? []);
      return;
    }
    case 'close': {
      const opened = current();
      live = undefined;
      await opened.comms.ulysses.close();
      await opened.comms.ring.close();
      await opened.world.close();
      opened.store.close();
      // The thread stays parked: tearing down a worker environment that loaded the addon is what aborts;
      // it ends with the process.
      parentPort?.removeAllListeners('message');
      parentPort?.unref();
      return;
    }
  }
}

async function serve(): Promise<void> {
  try {
    live = await open();
  } catch (err) {
    settle(setup.ready, setup.readyMessage, err);
    return;
  }
  settle(setup.ready, setup.readyMessage);
  parentPort?.on('message', (request: ThreadRequest) => {
    void handle(request).then(
      async () => {
        if (request.kind === 'close') await collectClosedCommunicators();
        settle(request.status, request.message);
      },
      (err: unknown) => settle(request.status, request.message, err),
    );
  });
}

void serve();
