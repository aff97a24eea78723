import { RateLimiter } from './rate-limiter.js';

/** What a handler tells the queue after processing a key. */
export type Outcome = { readonly requeueAfterMs?: number };
export type KeyHandler = (key: string) => Promise<Outcome>;

export interface WorkQueueOptions {
  readonly rateLimiter?: RateLimiter;
  /** Keys processed at the same time (never the same key twice at once). */
  readonly concurrency?: number;
  /** Called with the error of a failed key; the key is retried with back-off. */
  readonly onError?: (key: string, err: unknown, retries: number) => void;
  readonly onProcessed?: (key: string, durationMs: number, ok: boolean) => void;
}

/**
 * A deduplicating work queue keyed by `namespace/name`, as level-triggered controllers need: adding a
 * key that is already waiting does nothing (events coalesce), a key being processed is marked dirty and
 * processed once more afterwards (never concurrently), failures retry with the rate limiter's back-off,
 * and `requeueAfterMs` schedules a later look (timers keep only the earliest due time per key).
 */
export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly limiter: RateLimiter;
  private readonly concurrency: number;
  private handler: KeyHandler | undefined;
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.limiter = opts.rateLimiter ?? new RateLimiter();
    this.concurrency = opts.concurrency ?? 4;
  }

  /** Keys waiting to be processed (ready now), the queue-depth metric. */
  get depth(): number {
    return this.ready.length;
  }

  /** Keys waiting, processing or scheduled for later. */
  get pending(): number {
    return this.ready.length + this.processing.size + this.timers.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { due, timer });
  }

  /** Starts processing with `handler`. Keys added before this wait until it is called. */
  start(handler: KeyHandler): void {
    this.handler = handler;
    this.pump();
  }

  /** Stops taking keys; resolves when in-flight handlers have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (!this.handler || this.stopped) return;
    while (this.active < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.process(key, this.handler);
    }
  }

  private async process(key: string, handler: KeyHandler): Promise<void> {
    const start = performance.now();
    let ok = true;
    try {
      const outcome = await handler(key);
      this.limiter.forget(key);
      if (outcome.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    } catch (err) {
      ok = false;
      this.opts.onError?.(key, err, this.limiter.retries(key));
      this.addAfter(key, Math.max(1, this.limiter.when(key)));
    } finally {
      this.opts.onProcessed?.(key, performance.now() - start, ok);
      this.processing.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      if (this.stopped && this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    }
  }
}
