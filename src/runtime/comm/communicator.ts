import { createHash } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { log as rootLog } from '../../shared/log.js';
import {
  type CommBuffer,
  type CommDType,
  commBinding,
  type NativeCommunicator,
  type NativeTransfer,
  type ReduceOp,
} from './binding.js';
import { dtypeOf, movementDtypeOf } from './dtype.js';
import { CommError, describeFailure } from './errors.js';
import { type Access, stageThroughHost } from './host-staging.js';
import type { TcpStore } from './store.js';

export type Backend = 'gloo' | 'nccl';

export interface CommunicatorOptions {
  /** 'gloo' (CPU memory, TCP) or 'nccl' (CUDA memory; needs libnccl.so.2 and a GPU). */
  backend: Backend;
  /** The group's store; the communicator opens its own connection to the same address, with its secret. */
  store: TcpStore;
  rank: number;
  size: number;
  /** Names this communicator's keys in the store; every member must pass the same one. Default 'world'. */
  prefix?: string;
  /** Bump after a failure before building new communicators, so old rendezvous keys never mix in. */
  generation?: number;
  /** Bound on the rendezvous and on every operation; a dead peer fails sooner (connection reset). */
  timeoutMs?: number;
  /** gloo: this rank's address as the other ranks reach it (pod IP in a cluster). Default '127.0.0.1'. */
  listenHost?: string;
  /** nccl: the CUDA device of this rank. Default 0. */
  cudaDevice?: number;
  logger?: Logger;
}

/** One side of a point-to-point transfer in `exchange`. */
export interface Transfer {
  buf: CommBuffer;
  peer: number;
  tag?: number;
}

/**
 * An operation the GPU waits for instead of the host (NCCL). `orderDefaultStream()` queues on the default
 * stream, where every kernel runs, a wait on the device for the operation: kernels launched afterwards
 * read its results and the host goes on without waiting. `done` still settles when the operation
 * completed and rejects with the reason when it failed or timed out, so the caller must observe it.
 */
export interface DeviceOrderedOp {
  readonly done: Promise<void>;
  /**
   * False when the operation was refused before it started (bad buffers, a torn-down communicator):
   * `done` rejects with the reason and there is nothing to order (CommClock.order rejects at once).
   */
  readonly started: boolean;
  orderDefaultStream(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const PREFIX_PATTERN = /^[A-Za-z0-9_.:/-]{1,512}$/;

function checkRankAndSize(rank: number, size: number): void {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`communicator size must be an integer >= 1, got ${size}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) {
    throw new RangeError(`communicator rank must be an integer in [0, ${size}), got ${rank}`);
  }
}

/**
 * A group of ranks that communicate (see native/src/comm/communicator.h for the semantics shared by both
 * backends). Every method returns a Promise and runs off the event loop; several may be in flight.
 * Collectives must be called in the same order on every member and run one at a time in that order;
 * send/recv/exchange run beside them. The first timeout, dead peer or `abort()` rejects every pending
 * and later operation with a CommError and tears the communicator down: build new ones with a new
 * `generation`. Buffers must stay untouched until their operation settles.
 */
export class Communicator {
  private failureLogged = false;

  private constructor(
    private readonly native: NativeCommunicator,
    private readonly options: CommunicatorOptions & { prefix: string; generation: number; timeoutMs: number },
    /** Ranks of the root communicator that make up this one, in this communicator's rank order. */
    readonly members: readonly number[],
    private readonly logger: Logger,
  ) {}

  static async create(options: CommunicatorOptions): Promise<Communicator> {
    checkRankAndSize(options.rank, options.size);
    const prefix = options.prefix ?? 'world';
    if (!PREFIX_PATTERN.test(prefix))
      throw new TypeError(`communicator prefix '${prefix}' has unsafe characters`);
    const generation = options.generation ?? 0;
    if (!Number.isInteger(generation) || generation < 0)
      throw new RangeError(`generation must be an integer >= 0`);
    const full = { ...options, prefix, generation, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS };
    const members = Array.from({ length: options.size }, (_, i) => i);
    return Communicator.connect(full, members);
  }

  private static async connect(
    options: CommunicatorOptions & { prefix: string; generation: number; timeoutMs: number },
    members: readonly number[],
  ): Promise<Communicator> {
    const logger = (options.logger ?? rootLog).child({
      component: 'communicator',
      backend: options.backend,
      prefix: options.prefix,
      rank: options.rank,
      size: options.size,
    });
    const started = performance.now();
    const native = await describeFailure('rendezvous', `${options.backend} '${options.prefix}'`, () =>
      commBinding().createCommunicator({
        backend: options.backend,
        host: options.store.host,
        port: options.store.port,
        secret: options.store.secret,
        prefix: `tessera/${options.prefix}/g${options.generation}`,
        rank: options.rank,
        size: options.size,
        timeoutMs: options.timeoutMs,
        ...(options.listenHost !== undefined ? { listenHost: options.listenHost } : {}),
        ...(options.cudaDevice !== undefined ? { cudaDevice: options.cudaDevice } : {}),
      }),
    );
    logger.info({ ms: Math.round(performance.now() - started) }, 'communicator connected');
    return new Communicator(native, options, members, logger);
  }

  get rank(): number {
    return this.native.rank;
  }
  get size(): number {
    return this.native.size;
  }
  get backend(): Backend {
    return this.options.backend;
  }
  get prefix(): string {
    return this.options.prefix;
  }
  /** Why the communicator was torn down, or undefined while it is healthy. */
  get failure(): string | undefined {
    return this.native.failure || undefined;
  }

  /** In place over `buf`. 16-bit TypedArrays need `dtype` ('f16' or 'bf16'). */
  allReduce(buf: CommBuffer, op: ReduceOp = 'sum', dtype?: CommDType): Promise<void> {
    return this.run('allReduce', () =>
      this.viaHost([[buf, 'readWrite']], ([b]) => this.native.allReduce(b, dtypeOf(buf, dtype), op)),
    );
  }

  /** output = every rank's input concatenated in rank order (output holds size × input). */
  allGather(input: CommBuffer, output: CommBuffer): Promise<void> {
    return this.run('allGather', () =>
      this.viaHost(
        [
          [input, 'read'],
          [output, 'write'],
        ],
        ([i, o]) => this.native.allGather(i, o, movementDtypeOf(input)),
      ),
    );
  }

  /** input holds `size` equal chunks; chunk j goes to rank j, output chunk i comes from rank i. */
  allToAll(input: CommBuffer, output: CommBuffer): Promise<void> {
    return this.run('allToAll', () =>
      this.viaHost(
        [
          [input, 'read'],
          [output, 'write'],
        ],
        ([i, o]) => this.native.allToAll(i, o, movementDtypeOf(input)),
      ),
    );
  }

  /** Variable chunks in elements: inCounts[j] go to rank j (in order), outCounts[i] come from rank i. */
  allToAllV(
    input: CommBuffer,
    inCounts: readonly number[],
    output: CommBuffer,
    outCounts: readonly number[],
  ): Promise<void> {
    return this.run('allToAllV', () =>
      this.viaHost(
        [
          [input, 'read'],
          [output, 'write'],
        ],
        ([i, o]) => this.native.allToAllV(i, inCounts, o, outCounts, movementDtypeOf(input)),
      ),
    );
  }

  /** In place: root's `buf` is copied into every other rank's `buf`. */
  broadcast(buf: CommBuffer, root: number): Promise<void> {
    return this.run('broadcast', () =>
      this.viaHost([[buf, 'readWrite']], ([b]) => this.native.broadcast(b, root, movementDtypeOf(buf))),
    );
  }

  /** Resolves when the matching recv (same peer pair and tag) has taken the data. */
  send(buf: CommBuffer, peer: number, tag = 0): Promise<void> {
    return this.run('send', () => this.viaHost([[buf, 'read']], ([b]) => this.native.send(b, peer, tag)));
  }

  recv(buf: CommBuffer, peer: number, tag = 0): Promise<void> {
    return this.run('recv', () => this.viaHost([[buf, 'write']], ([b]) => this.native.recv(b, peer, tag)));
  }

  /**
   * Posts all sends and recvs together and resolves when all are done: the deadlock-free form of cyclic
   * patterns such as ring attention (send to next, recv from previous); one NCCL group on GPU.
   */
  exchange(transfers: { sends?: readonly Transfer[]; recvs?: readonly Transfer[] }): Promise<void> {
    const sends = transfers.sends ?? [];
    const recvs = transfers.recvs ?? [];
    const native = (list: readonly Transfer[], bufs: readonly CommBuffer[]): NativeTransfer[] =>
      list.map((t, i) => ({ buf: bufs[i] ?? t.buf, peer: t.peer, tag: t.tag ?? 0 }));
    const buffers: (readonly [CommBuffer, Access])[] = [
      ...sends.map((t) => [t.buf, 'read'] as const),
      ...recvs.map((t) => [t.buf, 'write'] as const),
    ];
    return this.run('exchange', () =>
      this.viaHost(buffers, (bufs) =>
        this.native.exchange(
          native(sends, bufs.slice(0, sends.length)),
          native(recvs, bufs.slice(sends.length)),
        ),
      ),
    );
  }

  /** True when operations can be ordered on the device (NCCL); gloo's must be awaited on the host. */
  get ordersOnDevice(): boolean {
    return this.backend === 'nccl';
  }

  /** `exchange`, ordered on the device instead of awaited (NCCL only). */
  exchangeOnDevice(transfers: { sends?: readonly Transfer[]; recvs?: readonly Transfer[] }): DeviceOrderedOp {
    return this.onDevice('exchange', () => this.exchange(transfers));
  }

  /** `send`, ordered on the device instead of awaited (NCCL only). */
  sendOnDevice(buf: CommBuffer, peer: number, tag = 0): DeviceOrderedOp {
    return this.onDevice('send', () => this.send(buf, peer, tag));
  }

  /** `recv`, ordered on the device instead of awaited (NCCL only). */
  recvOnDevice(buf: CommBuffer, peer: number, tag = 0): DeviceOrderedOp {
    return this.onDevice('recv', () => this.recv(buf, peer, tag));
  }

  /** `allToAll`, ordered on the device instead of awaited (NCCL only). */
  allToAllOnDevice(input: CommBuffer, output: CommBuffer): DeviceOrderedOp {
    return this.onDevice('allToAll', () => this.allToAll(input, output));
  }

  /** `allGather`, ordered on the device instead of awaited (NCCL only). */
  allGatherOnDevice(input: CommBuffer, output: CommBuffer): DeviceOrderedOp {
    return this.onDevice('allGather', () => this.allGather(input, output));
  }

  barrier(): Promise<void> {
    return this.run('barrier', () => this.native.barrier());
  }

  /**
   * A communicator over a subset of this one's ranks (e.g. one mesh axis), built by rendezvous among
   * those ranks only: call it on every member, with the same `ranks` (in this communicator's numbering,
   * in the new communicator's rank order) and `name`. Non-members must not call it.
   */
  async subgroup(ranks: readonly number[], name = 'group'): Promise<Communicator> {
    const index = ranks.indexOf(this.rank);
    if (index < 0)
      throw new RangeError(`rank ${this.rank} is not a member of subgroup [${ranks.join(', ')}]`);
    if (
      new Set(ranks).size !== ranks.length ||
      ranks.some((r) => !Number.isInteger(r) || r < 0 || r >= this.size)
    ) {
      throw new RangeError(
        `subgroup ranks [${ranks.join(', ')}] must be distinct ranks of a group of ${this.size}`,
      );
    }
    const list = ranks.join('-');
    // Keys stay short however many ranks there are; the digest still tells groups apart.
    const id = list.length <= 128 ? list : createHash('sha256').update(list).digest('hex').slice(0, 32);
    return Communicator.connect(
      { ...this.options, prefix: `${this.options.prefix}/${name}/${id}`, rank: index, size: ranks.length },
      ranks.map((r) => this.members[r] as number),
    );
  }

  /** Fails every pending and later operation with `reason`; never blocks. */
  abort(reason = 'aborted by the caller'): void {
    this.logger.warn({ reason }, 'communicator aborted');
    this.native.abort(reason);
  }

  /** Aborts what is pending and joins the native threads. */
  async close(): Promise<void> {
    await this.native.close();
    this.logger.debug('communicator closed');
  }

  /**
   * Starts an operation and remembers its number. `start` reaches the native call synchronously (run and
   * viaHost call through before their first await; NCCL stages nothing), so the number read right after
   * it is this operation's. A call refused before it started (bad buffers) gets no number: its `done`
   * rejects with the reason, and there is nothing to order.
   */
  private onDevice(operation: string, start: () => Promise<void>): DeviceOrderedOp {
    if (!this.ordersOnDevice) {
      throw new TypeError(
        `${operation} ordered on the device needs the NCCL backend; ${this.backend} operations are awaited`,
      );
    }
    const before = this.native.started;
    const done = start();
    const number = this.native.started;
    return {
      done,
      started: number !== before,
      orderDefaultStream: () => {
        if (number === before) return;
        try {
          this.native.orderDefaultStream(number);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          const context = `${this.backend} '${this.prefix}' rank ${this.rank}/${this.size}`;
          const wrapped = new CommError(`${operation} (${context}) failed: ${reason}`, operation, {
            cause: err,
          });
          this.logger.error(
            { err: wrapped, operation },
            'could not order the default stream; communicator torn down',
          );
          throw wrapped;
        }
      },
    };
  }

  /**
   * Runs `call` on buffers gloo can read: 'cuda' tensors are staged through host copies (host-staging.ts);
   * NCCL gets the buffers as they are.
   */
  private async viaHost<const B extends readonly (readonly [CommBuffer, Access])[]>(
    buffers: B,
    call: (bufs: { [K in keyof B]: CommBuffer }) => Promise<void>,
  ): Promise<void> {
    type Bufs = { [K in keyof B]: CommBuffer };
    if (this.backend !== 'gloo') return call(buffers.map(([buf]) => buf) as unknown as Bufs);
    const staged = buffers.map(([buf, access]) => stageThroughHost(buf, access));
    try {
      await call(staged.map((s) => s.buf) as unknown as Bufs);
      for (const s of staged) s.copyBack();
    } finally {
      for (const s of staged) s.release();
    }
  }

  private async run(operation: string, call: () => Promise<void>): Promise<void> {
    try {
      await describeFailure(
        operation,
        `${this.backend} '${this.prefix}' rank ${this.rank}/${this.size}`,
        call,
      );
    } catch (err) {
      // A bad argument leaves the communicator healthy: only the caller needs to know.
      if (!this.native.failure) throw err;
      // The first failure is the news; the rejections of everything pending after it are its echo.
      if (!this.failureLogged) {
        this.failureLogged = true;
        this.logger.error({ err, operation }, 'communicator operation failed; communicator torn down');
      } else {
        this.logger.debug(
          { operation, reason: (err as Error).message },
          'operation rejected after the failure',
        );
      }
      throw err;
    }
  }
}

/** Joins a communicator: `createCommunicator({ backend: 'gloo', store, rank, size })`. */
export function createCommunicator(options: CommunicatorOptions): Promise<Communicator> {
  return Communicator.create(options);
}
