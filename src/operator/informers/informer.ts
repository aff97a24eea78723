import type { Logger } from '../../shared/log.js';
import type { KubeClient, WatchEvent } from '../kube/client.js';
import { isGone } from '../kube/errors.js';
import { type KubeObject, objectKey } from '../kube/objects.js';
import { type ResourceType, resourcePath } from '../kube/resources.js';

export type ChangeType = 'added' | 'updated' | 'deleted';
export type ChangeHandler<T> = (type: ChangeType, obj: T) => void;

export interface InformerOptions<T extends KubeObject = KubeObject> {
  readonly client: KubeClient;
  readonly resource: ResourceType;
  /** The informer logs through a child of this one, bound to its component and name. */
  readonly log: Logger;
  /** Shown in health and logs instead of the resource's plural, e.g. for a second cache of pods. */
  readonly name?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Trims each object before it is cached (a cache of every pod in a cluster should keep only what
   * its readers need). Must keep `metadata.name`, `namespace` and `resourceVersion`.
   */
  readonly transform?: (obj: T) => T;
  /** Server-side lifetime of one watch request; the informer re-watches from the last version after it. */
  readonly watchTimeoutSeconds?: number;
  /** A full relist at this period, so state missed by a broken watch is healed. */
  readonly relistIntervalMs?: number;
  /** A watch that sends nothing for this long past its own timeout is treated as stalled and restarted. */
  readonly stallGraceMs?: number;
  /** Back-off after a failed list or watch: doubles from `min` to `max`, with jitter. */
  readonly backoff?: { minMs: number; maxMs: number };
  readonly pageSize?: number;
}

export interface InformerHealth {
  readonly resource: string;
  /** The first full list completed. */
  readonly synced: boolean;
  /** Last time the API server answered (list page, watch data, or a clean end of a watch). */
  readonly lastContactAt: number;
  readonly consecutiveFailures: number;
  readonly restarts: number;
}

/**
 * List-then-watch cache of one resource, with the repairs client-node's informer leaves to callers:
 * any watch error restarts it (after jittered exponential back-off), a 410 relists, a stream that
 * goes silent past its own timeout is aborted and restarted, and a periodic relist heals whatever a
 * watch missed. Handlers see `added`/`updated`/`deleted` with the new object (the last known one for
 * deletions); on a relist, objects that vanished are reported deleted.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly opts: Required<
    Omit<InformerOptions<T>, 'name' | 'labelSelector' | 'fieldSelector' | 'transform'>
  > &
    Pick<InformerOptions<T>, 'name' | 'labelSelector' | 'fieldSelector' | 'transform'>;
  /** Bound to the same name /healthz and /readyz show, so a log line and a failing probe match. */
  private readonly log: Logger;
  private abort: AbortController | undefined;
  /** Aborted by stop(): ends back-off sleeps at once. */
  private readonly stopping = new AbortController();
  private running = false;
  private loop: Promise<void> | undefined;
  private synced = false;
  private lastContactAt = Date.now();
  private consecutiveFailures = 0;
  private restarts = 0;
  private syncedWaiters: (() => void)[] = [];

  constructor(options: InformerOptions<T>) {
    this.opts = {
      watchTimeoutSeconds: 60,
      relistIntervalMs: 10 * 60_000,
      stallGraceMs: 30_000,
      backoff: { minMs: 200, maxMs: 30_000 },
      pageSize: 500,
      ...options,
    };
    this.log = options.log.child({ component: 'informer', resource: this.resourceName });
  }

  /** The resource, or the name given for a second cache of it (health and logs tell them apart). */
  get resourceName(): string {
    return this.opts.name ?? this.opts.resource.plural;
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  health(): InformerHealth {
    return {
      resource: this.resourceName,
      synced: this.synced,
      lastContactAt: this.lastContactAt,
      consecutiveFailures: this.consecutiveFailures,
      restarts: this.restarts,
    };
  }

  /** Resolves once the first full list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.abort?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const resourceVersion = await this.relist();
        await this.watchUntilRelist(resourceVersion);
        this.consecutiveFailures = 0;
      } catch (err) {
        if (!this.running) break;
        this.consecutiveFailures++;
        this.restarts++;
        const delay = this.backoffDelay();
        this.log.warn(
          { err, failures: this.consecutiveFailures, retryInMs: delay },
          'Watch failed; restarting informer',
        );
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  /** Lists everything (paged), replaces the cache and reports the difference; returns the list version. */
  private async relist(): Promise<string> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.opts.client.list<T>(this.opts.resource, {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: this.opts.pageSize,
        continue: cont,
      });
      this.lastContactAt = Date.now();
      for (const item of page.items) fresh.set(objectKey(item), this.trim(item));
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (cont);

    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit('deleted', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.emit('added', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('updated', obj);
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncedWaiters.splice(0)) w();
    }
    return resourceVersion;
  }

  /**
   * Watches from `resourceVersion`, one server-timed request after another, until the relist period is
   * over (returns) or something fails (throws; the caller backs off and relists).
   */
  private async watchUntilRelist(startVersion: string): Promise<void> {
    let resourceVersion = startVersion;
    const relistAt = Date.now() + jitter(this.opts.relistIntervalMs);
    while (this.running && Date.now() < relistAt) {
      const abort = new AbortController();
      this.abort = abort;
      const timeoutSeconds = Math.max(1, Math.round(jitter(this.opts.watchTimeoutSeconds * 1000) / 1000));
      // The watchdog: the server ends the stream after timeoutSeconds; silence well past that means the
      // connection is half-open (a known client-node 1.x failure), so abort and start over.
      const stallAfterMs = timeoutSeconds * 1000 + this.opts.stallGraceMs;
      let lastData = Date.now();
      let stalled = false;
      const watchdog = setInterval(
        () => {
          if (Date.now() - lastData > stallAfterMs) {
            stalled = true;
            abort.abort();
          }
        },
        Math.min(5_000, stallAfterMs),
      );
      let gone = false;
      try {
        await this.opts.client.watch<T>(
          resourcePath(this.opts.resource),
          {
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
          },
          {
            onData: () => {
              lastData = Date.now();
              this.lastContactAt = lastData;
            },
            onEvent: (e: WatchEvent<T>) => {
              if (e.type === 'ERROR') {
                const status = e.object as { code?: number; message?: string };
                if (status.code === 410) {
                  gone = true;
                  abort.abort();
                  return;
                }
                throw new Error(`watch ${this.resourceName}: ${status.code} ${status.message ?? ''}`);
              }
              const rv = e.object.metadata?.resourceVersion;
              if (rv) resourceVersion = rv;
              if (e.type === 'BOOKMARK') return;
              this.apply(e.type, e.object);
            },
          },
          abort.signal,
        );
        this.lastContactAt = Date.now();
      } catch (err) {
        if (!this.running) return;
        if (gone || isGone(err)) {
          this.log.debug('Watch expired (410); relisting');
          return;
        }
        if (stalled) throw new Error(`watch ${this.resourceName}: no data for ${stallAfterMs} ms (stalled)`);
        throw err;
      } finally {
        clearInterval(watchdog);
      }
    }
  }

  private trim(obj: T): T {
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: T): void {
    const obj = this.trim(raw);
    const key = objectKey(obj);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit('deleted', obj);
      return;
    }
    const existed = this.cache.has(key);
    this.cache.set(key, obj);
    this.emit(existed ? 'updated' : 'added', obj);
  }

  private emit(type: ChangeType, obj: T): void {
    for (const h of this.handlers) {
      try {
        h(type, obj);
      } catch (err) {
        this.log.error({ err }, 'Informer handler threw');
      }
    }
  }

  private backoffDelay(): number {
    const { minMs, maxMs } = this.opts.backoff;
    const base = Math.min(maxMs, minMs * 2 ** Math.min(20, this.consecutiveFailures - 1));
    return jitter(base);
  }
}

/** ±20 % jitter, so many informers (or operator replicas) do not relist in lockstep. */
function jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
