/**
 * The bounded queue in front of the executor. One run at a time (the group is one SPMD program);
 * requests queued meanwhile are grouped into the next run when they share steps, guidance and inputs,
 * up to maxBatch samples, oldest first. Requests leave the queue when their deadline passes or their
 * client goes away, so a dead client never costs GPU time.
 */
import type { Logger } from '../../shared/log.js';
import {
  ExecutorFatalError,
  type GenerationExecutor,
  type GenerationRequest,
  type GenerationResult,
} from './executor.js';
import { firstNonFinite } from './f32-codec.js';
import { RequestError } from './request-error.js';
import type { ServingMetrics } from './serving-metrics.js';

export interface Completed {
  readonly result: GenerationResult;
  readonly queueMs: number;
  readonly runMs: number;
  /** Samples in the run this request shared. */
  readonly batchSamples: number;
}

export type Outcome = { ok: true; value: Completed } | { ok: false; error: RequestError };

export interface Ticket {
  readonly outcome: Promise<Outcome>;
  /** Ends the request with `error` now; a queued request leaves the queue, a running one is abandoned. */
  cancel(error: RequestError): void;
}

interface Entry {
  readonly request: GenerationRequest;
  readonly batchKey: string;
  readonly enqueuedAt: number;
  state: 'queued' | 'running' | 'settled';
  settle(outcome: Outcome): void;
  timer: NodeJS.Timeout | undefined;
}

interface RunningBatch {
  readonly entries: Entry[];
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

export interface SchedulerOptions {
  queueSize: number;
  logger: Logger;
  metrics?: ServingMetrics;
  /** Called once when the executor reports the group can no longer run. */
  onFatal(reason: string, cause: unknown): void;
}

/** Run time guess before any run has finished, for Retry-After. */
const INITIAL_RUN_ESTIMATE_MS = 5_000;
const RUN_ESTIMATE_WEIGHT = 0.3;

export class BatchScheduler {
  private readonly queue: Entry[] = [];
  private running: RunningBatch | null = null;
  private closedWith: RequestError | null = null;
  private runEstimateMs = INITIAL_RUN_ESTIMATE_MS;

  constructor(
    private readonly executor: GenerationExecutor,
    private readonly options: SchedulerOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running?.entries.filter((e) => e.state === 'running').length ?? 0;
  }

  get capacity(): number {
    return this.options.queueSize;
  }

  /**
   * Throws what submit() would throw now for want of room (503 closed, 429 full), so a caller can refuse
   * before doing work for a request that cannot be queued (the images route's prompt encoding).
   */
  checkRoom(): void {
    if (this.closedWith) throw this.closedWith;
    if (this.running && this.queue.length >= this.options.queueSize) {
      const retryAfter = this.retryAfterSeconds();
      throw new RequestError(429, 'queue_full', `the queue holds ${this.queue.length} requests, its limit`, {
        fix: `retry after ${retryAfter} s, or add groups (spec.replicas)`,
        headers: { 'retry-after': String(retryAfter) },
      });
    }
  }

  /** Queues a valid request; throws RequestError (429 full, 503 closed) without changing anything. */
  submit(request: GenerationRequest, batchKey: string, timeoutMs: number): Ticket {
    if (this.closedWith) throw this.closedWith;
    if (request.batchSize > this.executor.maxBatch) {
      throw new RequestError(
        400,
        'invalid_field',
        `batch ${request.batchSize} exceeds maxBatch ${this.executor.maxBatch}`,
        {
          field: 'latents.shape',
          fix: `split the request into batches of at most ${this.executor.maxBatch}`,
        },
      );
    }
    this.checkRoom();
    let settle!: (outcome: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    const entry: Entry = {
      request,
      batchKey,
      enqueuedAt: performance.now(),
      state: 'queued',
      timer: undefined,
      settle: (o) => {
        if (entry.state === 'settled') return;
        entry.state = 'settled';
        clearTimeout(entry.timer);
        settle(o);
      },
    };
    entry.timer = setTimeout(() => {
      this.cancel(
        entry,
        new RequestError(504, 'deadline_exceeded', `no result within timeoutMs ${timeoutMs}`, {
          fix: 'raise timeoutMs, lower steps, or retry when the queue is shorter',
        }),
      );
    }, timeoutMs);
    this.queue.push(entry);
    this.pump();
    return { outcome, cancel: (error) => this.cancel(entry, error) };
  }

  /**
   * Refuses new requests with `reason`, fails the queued ones with it, and resolves when the running
   * batch (if any) has finished.
   */
  async close(reason: RequestError): Promise<void> {
    this.closedWith ??= reason;
    for (const entry of this.queue.splice(0)) entry.settle({ ok: false, error: reason });
    await this.running?.done;
  }

  private retryAfterSeconds(): number {
    const runsAhead = Math.ceil(this.queue.length / Math.max(1, this.executor.maxBatch)) + 1;
    return Math.max(1, Math.ceil((runsAhead * this.runEstimateMs) / 1000));
  }

  private cancel(entry: Entry, error: RequestError): void {
    if (entry.state === 'queued') {
      this.queue.splice(this.queue.indexOf(entry), 1);
    }
    entry.settle({ ok: false, error });
    const batch = this.running;
    if (batch?.entries.includes(entry) && batch.entries.every((e) => e.state === 'settled')) {
      // Nobody waits for this run any more; an executor that can stop early may.
      batch.abort.abort(error);
    }
  }

  /** The oldest request plus every later compatible one that still fits, in arrival order. */
  private takeBatch(): Entry[] {
    const head = this.queue[0];
    if (!head) return [];
    const batch: Entry[] = [];
    let samples = 0;
    for (const entry of this.queue) {
      if (entry.batchKey !== head.batchKey) continue;
      if (samples + entry.request.batchSize > this.executor.maxBatch) continue;
      batch.push(entry);
      samples += entry.request.batchSize;
    }
    for (const entry of batch) this.queue.splice(this.queue.indexOf(entry), 1);
    return batch;
  }

  private pump(): void {
    if (this.running || this.closedWith) return;
    const entries = this.takeBatch();
    if (entries.length === 0) return;
    const abort = new AbortController();
    const started = performance.now();
    for (const entry of entries) {
      entry.state = 'running';
      this.options.metrics?.queueSeconds.observe((started - entry.enqueuedAt) / 1000);
    }
    const samples = entries.reduce((n, e) => n + e.request.batchSize, 0);
    this.options.metrics?.batchSamples.observe(samples);
    const done = this.execute(entries, abort.signal, started, samples).finally(() => {
      this.running = null;
      this.pump();
    });
    this.running = { entries, abort, done };
  }

  private async execute(
    entries: Entry[],
    signal: AbortSignal,
    started: number,
    samples: number,
  ): Promise<void> {
    const ids = entries.map((e) => e.request.id);
    const logger = this.options.logger.child({ requestIds: ids, samples });
    logger.debug('batch started');
    let results: GenerationResult[];
    try {
      results = await this.executor.run(
        entries.map((e) => e.request),
        signal,
      );
    } catch (cause) {
      this.failBatch(entries, cause, logger);
      return;
    }
    const runMs = performance.now() - started;
    this.options.metrics?.runSeconds.observe(runMs / 1000);
    this.runEstimateMs += RUN_ESTIMATE_WEIGHT * (runMs - this.runEstimateMs);
    if (results.length !== entries.length) {
      const error = new RequestError(
        500,
        'executor_error',
        `the executor returned ${results.length} results for ${entries.length} requests`,
      );
      logger.error({ results: results.length }, error.message);
      for (const entry of entries) entry.settle({ ok: false, error });
      return;
    }
    entries.forEach((entry, i) => {
      const result = results[i] as GenerationResult;
      const bad = firstNonFinite(result.latents.data);
      if (bad >= 0) {
        // NaN latents decode to a black or noise image; the client must hear that the run overflowed.
        this.options.metrics?.executorFailures.inc({ kind: 'non_finite' });
        logger.error({ requestId: entry.request.id, element: bad }, 'run produced non-finite latents');
        const error = new RequestError(
          500,
          'non_finite_result',
          `the result is not finite: element ${bad} of the latents is ${result.latents.data[bad]}`,
          {
            fix: 'inputs or weights overflow float32; check them (TESSERA_CHECK_WEIGHTS=finite checks weights at load)',
          },
        );
        entry.settle({ ok: false, error });
        return;
      }
      const queueMs = started - entry.enqueuedAt;
      entry.settle({ ok: true, value: { result, queueMs, runMs, batchSamples: samples } });
    });
    logger.debug({ runMs: Math.round(runMs) }, 'batch finished');
  }

  private failBatch(entries: Entry[], cause: unknown, logger: Logger): void {
    const message = cause instanceof Error ? cause.message : String(cause);
    if (cause instanceof ExecutorFatalError) {
      this.options.metrics?.executorFailures.inc({ kind: 'fatal' });
      const error = new RequestError(503, 'group_failed', `the group can no longer run: ${message}`, {
        fix: 'retry; the group is being restarted',
        cause,
      });
      logger.error({ err: cause }, 'executor failed fatally; refusing requests');
      for (const entry of entries) entry.settle({ ok: false, error });
      this.closedWith ??= error;
      for (const entry of this.queue.splice(0)) entry.settle({ ok: false, error });
      this.options.onFatal(message, cause);
      return;
    }
    this.options.metrics?.executorFailures.inc({ kind: 'batch' });
    logger.error({ err: cause }, 'batch failed');
    const error = new RequestError(500, 'executor_error', `the batch failed: ${message}`, { cause });
    for (const entry of entries) entry.settle({ ok: false, error });
  }
}
