/**
 * Blocking collectives for code that cannot await: the model's attention hook is synchronous (its
 * forward runs kernel after kernel on this thread), while communicators are asynchronous. A comm thread
 * (comm-thread.ts) owns a second set of communicators for the sequence-parallel axes and performs each
 * request while this thread waits on a futex (Atomics.wait), the same shape as a framework thread
 * blocking on gloo. Ring hops are posted before the block's attention and waited on after it, so
 * transfers still overlap compute.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { axisGroup, type Degrees } from '../../shared/plan/index.js';
import { CommError } from '../comm/index.js';
import type { Tensor } from '../native/index.js';
import type { GroupConnection } from '../rendezvous/group.js';
import type { CommProgram, CommStep, PeerTransfer, SpAxis, StepAnswer } from './comm-steps.js';
import {
  MESSAGE_BYTES,
  type SharedTransfer,
  STATUS_DONE,
  STATUS_FAILED,
  STATUS_PENDING,
  type ThreadRequest,
  type ThreadSetup,
} from './comm-thread-protocol.js';

/** Extra wait beyond the communicators' own timeout before the main thread gives up on the comm thread. */
const THREAD_GRACE_MS = 5_000;

interface PendingExchange {
  status: SharedArrayBuffer;
  message: SharedArrayBuffer;
  recvs: Array<{ shared: SharedArrayBuffer; target: Tensor }>;
}

function threadEntry(): { url: URL; execArgv?: string[] } {
  const js = new URL('./comm-thread.js', import.meta.url);
  if (existsSync(js)) return { url: js };
  // Running from TypeScript sources (tests, `node --import tsx`): load the thread through tsx's loader.
  return { url: new URL('./comm-thread-tsx.mjs', import.meta.url) };
}

function sharedCopy(t: Tensor): SharedArrayBuffer {
  const values = t.toFloat32Array();
  const shared = new SharedArrayBuffer(values.byteLength);
  new Float32Array(shared).set(values);
  return shared;
}

function copyInto(target: Tensor, shared: SharedArrayBuffer): void {
  const view = target.data();
  if (!(view instanceof Float32Array) || view.length * 4 !== shared.byteLength) {
    throw new Error(
      `comm buffer ${target.toString()} must be a contiguous f32 tensor of ${shared.byteLength / 4} values`,
    );
  }
  view.set(new Float32Array(shared));
}

export class BlockingSpComm {
  private readonly pending = new Map<number, PendingExchange>();
  private nextTicket = 1;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly timeoutMs: number,
  ) {}

  /** Starts the comm thread and blocks until its communicators are connected (every rank must call it). */
  static open(connection: GroupConnection, degrees: Degrees): BlockingSpComm {
    const ready = new SharedArrayBuffer(4);
    const readyMessage = new SharedArrayBuffer(MESSAGE_BYTES);
    const setup: ThreadSetup = {
      host: connection.host,
      port: connection.port,
      rank: connection.rank,
      size: connection.size,
      backend: connection.backend,
      prefix: connection.prefix,
      generation: connection.generation,
      timeoutMs: connection.timeoutMs,
      ...(connection.listenHost !== undefined ? { listenHost: connection.listenHost } : {}),
      ulyssesRanks: axisGroup(connection.rank, 'ulysses', degrees),
      ringRanks: axisGroup(connection.rank, 'ring', degrees),
      ready,
      readyMessage,
    };
    const { url } = threadEntry();
    const worker = new Worker(url, { workerData: setup });
    const comm = new BlockingSpComm(worker, connection.timeoutMs);
    comm.block(ready, readyMessage, 'opening the sequence-parallel communicators');
    return comm;
  }

  /** Runs a comm program to completion on this thread. */
  run<T>(program: CommProgram<T>): T {
    let answer: StepAnswer;
    try {
      for (;;) {
        const next = program.next(answer);
        if (next.done) return next.value;
        answer = this.perform(next.value);
      }
    } catch (err) {
      program.return(undefined as T);
      throw err;
    }
  }

  private perform(step: CommStep): StepAnswer {
    switch (step.kind) {
      case 'allToAll':
      case 'allGather': {
        const output = new SharedArrayBuffer(step.output.numel * 4);
        const request = this.post(step.kind, step.axis, { input: sharedCopy(step.input), output });
        this.block(request.status, request.message, `${step.kind} over ${step.axis}`);
        copyInto(step.output, output);
        return undefined;
      }
      case 'startExchange': {
        const toShared = (t: PeerTransfer, data: SharedArrayBuffer): SharedTransfer => ({
          data,
          peer: t.peer,
          tag: t.tag,
        });
        const sends = step.sends.map((t) => toShared(t, sharedCopy(t.buf)));
        const recvBuffers = step.recvs.map((t) => new SharedArrayBuffer(t.buf.numel * 4));
        const recvs = step.recvs.map((t, i) => toShared(t, recvBuffers[i] as SharedArrayBuffer));
        const status = new SharedArrayBuffer(4);
        const message = new SharedArrayBuffer(MESSAGE_BYTES);
        this.send({ kind: 'exchange', axis: step.axis, sends, recvs, status, message });
        const ticket = this.nextTicket++;
        this.pending.set(ticket, {
          status,
          message,
          recvs: step.recvs.map((t, i) => ({ shared: recvBuffers[i] as SharedArrayBuffer, target: t.buf })),
        });
        return ticket;
      }
      case 'wait': {
        const p = this.pending.get(step.ticket);
        if (!p) throw new Error(`comm program waited on unknown ticket ${step.ticket}`);
        this.pending.delete(step.ticket);
        this.block(p.status, p.message, 'ring exchange');
        for (const r of p.recvs) copyInto(r.target, r.shared);
        return undefined;
      }
    }
  }

  private post(
    kind: 'allToAll' | 'allGather',
    axis: SpAxis,
    buffers: { input: SharedArrayBuffer; output: SharedArrayBuffer },
  ): { status: SharedArrayBuffer; message: SharedArrayBuffer } {
    const status = new SharedArrayBuffer(4);
    const message = new SharedArrayBuffer(MESSAGE_BYTES);
    this.send({ kind, axis, ...buffers, status, message });
    return { status, message };
  }

  private send(request: ThreadRequest): void {
    if (this.closed) throw new CommError('the sequence-parallel comm thread is closed', request.kind);
    this.worker.postMessage(request);
  }

  /** Blocks this thread until the request settles; throws its failure or a timeout. */
  private block(status: SharedArrayBuffer, message: SharedArrayBuffer, what: string): void {
    const flag = new Int32Array(status);
    const deadline = Date.now() + this.timeoutMs + THREAD_GRACE_MS;
    while (Atomics.load(flag, 0) === STATUS_PENDING) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(flag, 0, STATUS_PENDING, left) === 'timed-out') {
        throw new CommError(
          `${what}: no answer from the comm thread within ${this.timeoutMs + THREAD_GRACE_MS} ms`,
          what,
        );
      }
    }
    if (Atomics.load(flag, 0) === STATUS_FAILED) {
      const n = new DataView(message).getUint32(0, true);
      const text = new TextDecoder().decode(new Uint8Array(message).slice(4, 4 + n));
      throw new CommError(`${what} failed on the comm thread: ${text}`, what);
    }
    if (Atomics.load(flag, 0) !== STATUS_DONE) throw new Error(`${what}: unexpected comm thread status`);
  }

  /** Closes the thread's communicators and ends the thread. */
  close(): void {
    if (this.closed) return;
    const status = new SharedArrayBuffer(4);
    const message = new SharedArrayBuffer(MESSAGE_BYTES);
    this.send({ kind: 'close', status, message });
    this.closed = true;
    this.block(status, message, 'closing the sequence-parallel communicators');
    // The parked thread must not keep the process alive.
    this.worker.unref();
  }
}
