import type { Logger } from '../../shared/log.js';
import { log as rootLog } from '../../shared/log.js';
import { commBinding, type NativeStoreClient, type NativeStoreServer } from './binding.js';
import { describeFailure } from './errors.js';

export interface TcpStoreOptions {
  /** Address of the store as every rank reaches it (the group's rank 0). */
  host: string;
  /** Port of the store; with `isServer` and port 0 a free port is picked (read it from `store.port`). */
  port: number;
  /** True on the rank that hosts the store (the group's rank 0). */
  isServer: boolean;
  /** Address the server binds to; defaults to `host`. Use '0.0.0.0' in a pod, '127.0.0.1' in tests. */
  listenHost?: string;
  /** Bound on connecting (retries while the server is not up yet) and the default for get/wait. */
  timeoutMs?: number;
  /**
   * The group's secret (16 to 4096 bytes): the server admits only clients that prove it, before reading
   * anything else from them, and every client checks the server's proof (readGroupSecret()).
   */
  secret: Uint8Array;
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The rendezvous key-value store of one group (see native/src/store/). The server runs inside the
 * process of the group's rank 0, on its own native thread; every rank (rank 0 too) talks to it through
 * a client connection. Values are bytes; `add` keeps decimal counters, as for barriers and generations.
 * Communicators open their own connections from `host`/`port` with the same secret, so a blocking `get`
 * here never holds up a rendezvous. Keys are written once: a second `set` of a key is refused. Calls on one TcpStore run one at a time over its single connection, each on a libuv
 * pool thread while it waits: keep long blocking gets few, or open another TcpStore for them.
 */
export class TcpStore {
  private constructor(
    readonly host: string,
    readonly port: number,
    readonly timeoutMs: number,
    private readonly client: NativeStoreClient,
    private readonly server: NativeStoreServer | undefined,
    private readonly logger: Logger,
    /** The group secret, for the communicators that rendezvous through this store. */
    readonly secret: Uint8Array,
  ) {}

  static async create(options: TcpStoreOptions): Promise<TcpStore> {
    const native = commBinding();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const logger = (options.logger ?? rootLog).child({ component: 'tcp-store' });
    let server: NativeStoreServer | undefined;
    let port = options.port;
    if (options.isServer) {
      try {
        server = new native.StoreServer(options.listenHost ?? options.host, options.port, {
          secret: options.secret,
        });
      } catch (err) {
        throw new Error(
          `cannot start the TCP store on ${options.listenHost ?? options.host}:${options.port}`,
          {
            cause: err,
          },
        );
      }
      port = server.port;
      logger.info({ host: options.listenHost ?? options.host, port }, 'TCP store server listening');
    }
    try {
      const client = await describeFailure('connect', `store ${options.host}:${port}`, () =>
        native.connectStore({ host: options.host, port, timeoutMs, secret: options.secret }),
      );
      return new TcpStore(options.host, port, timeoutMs, client, server, logger, options.secret);
    } catch (err) {
      server?.close();
      throw err;
    }
  }

  /** True in the process that hosts the server. */
  get isServer(): boolean {
    return this.server !== undefined;
  }

  /** On the hosting process: connections refused for not proving the secret (0 elsewhere). */
  get refusedConnections(): number {
    return this.server?.refusedConnections ?? 0;
  }

  set(key: string, value: Uint8Array | string): Promise<void> {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    return describeFailure('set', `store key '${key}'`, () => this.client.set(key, bytes));
  }

  /** Blocks until the key exists; rejects after `timeoutMs`. */
  get(key: string, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    return describeFailure('get', `store key '${key}'`, () => this.client.get(key, timeoutMs));
  }

  async getString(key: string, timeoutMs = this.timeoutMs): Promise<string> {
    return new TextDecoder().decode(await this.get(key, timeoutMs));
  }

  /** Adds delta to a counter (missing = 0) and returns the new value. */
  add(key: string, delta: number): Promise<number> {
    return describeFailure('add', `store key '${key}'`, () => this.client.add(key, delta));
  }

  /** Resolves once every key exists; rejects after `timeoutMs`. */
  wait(keys: string[], timeoutMs = this.timeoutMs): Promise<void> {
    return describeFailure('wait', `store keys ${keys.join(', ')}`, () => this.client.wait(keys, timeoutMs));
  }

  /** Removes a key; resolves whether it existed. */
  delete(key: string): Promise<boolean> {
    return describeFailure('delete', `store key '${key}'`, () => this.client.delete(key));
  }

  /** Whether a key exists now (never blocks). */
  check(key: string): Promise<boolean> {
    return describeFailure('check', `store key '${key}'`, () => this.client.check(key));
  }

  /** Closes the connection and, on rank 0, the server (other ranks then fail their store calls). */
  close(): void {
    this.client.close();
    if (this.server) {
      this.server.close();
      this.logger.info({ port: this.port }, 'TCP store server closed');
    }
  }
}
