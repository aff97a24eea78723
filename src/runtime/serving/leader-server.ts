/**
 * The leader's server as the rank's main thread holds it: the HTTP server itself runs in a worker thread
 * (serving-thread.ts), and this side runs the executor when the thread asks for a run.
 *
 * Why a thread: a rank computes on its main thread (the native kernels are synchronous calls; a group of
 * one has no collective to wait on), so a server on that thread answers nothing while a batch runs. Back
 * to back, that was seconds without /readyz (the kubelet restarts a healthy pod) and 504s that came only
 * after the run. In its own thread the server answers probes and fires deadlines whatever the model
 * does, for every group size, and the model code stays as it is. A separate process would need a second
 * copy of the request tensors over IPC and its own lifecycle; a thread shares the process's fate.
 */
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../shared/log.js';
import { type ImageAsk, ImageRequestError } from '../pipeline/image-request.js';
import { ExecutorFatalError, type GenerationExecutor, type GenerationResult } from './executor.js';
import type { ImageService } from './image-service.js';
import type { FromServingThread, ServingThreadData, ToServingThread } from './thread-messages.js';

/** Starts the serving thread: from the compiled .js as it is, from the sources through tsx's loader. */
function startThread(data: ServingThreadData): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSources ? './serving-thread.ts' : './serving-thread.js', import.meta.url);
  if (!fromSources) return new Worker(entry, { workerData: data });
  // A worker does not inherit the parent's `--import tsx` hooks (Node 20), so it registers them itself.
  // Vitest's module runner has no import.meta.resolve; an eval'd worker resolves from the working directory.
  const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const bootstrap = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

/** An owned copy, so the transfer detaches nothing the main thread still holds. */
function owned(results: GenerationResult[]): { results: GenerationResult[]; transfer: ArrayBuffer[] } {
  const copies = results.map((r) => ({
    latents: { shape: [...r.latents.shape], data: r.latents.data.slice() },
    ...(r.images ? { images: r.images.map((image) => ({ ...image, data: image.data.slice() })) } : {}),
  }));
  const transfer = copies.flatMap((r) => [
    r.latents.data.buffer as ArrayBuffer,
    ...(r.images ?? []).map((image) => image.data.buffer as ArrayBuffer),
  ]);
  return { results: copies, transfer };
}

export class LeaderServer {
  private readonly aborts = new Map<number, AbortController>();
  private listening: AddressInfo | null = null;
  private closing: Promise<void> | null = null;
  private closed!: { resolve: () => void; reject: (err: Error) => void };

  private constructor(
    private readonly thread: Worker,
    private readonly executor: GenerationExecutor,
    private readonly logger: Logger,
    private readonly images: ImageService | undefined,
  ) {}

  /** `images`: the pipeline's service, on this thread, that the thread's images route asks to prepare. */
  static start(
    data: ServingThreadData,
    executor: GenerationExecutor,
    logger: Logger,
    images?: ImageService,
  ): Promise<LeaderServer> {
    const server = new LeaderServer(startThread(data), executor, logger, images);
    return server.attach();
  }

  /** Where the thread listens; null after shutdown. */
  address(): AddressInfo | null {
    return this.listening;
  }

  /** Weights loaded, group joined, warm-up done: startup and readiness probes turn 200. */
  markStarted(): void {
    this.post({ kind: 'started' });
  }

  /** The group cannot run any more: readiness fails from now on; queued requests get 503. */
  reportFatal(reason: string, cause?: unknown): void {
    const err = cause instanceof Error ? cause : undefined;
    this.post({
      kind: 'fatal',
      reason,
      ...(err ? { cause: { message: err.message, ...(err.stack ? { stack: err.stack } : {}) } } : {}),
    });
  }

  /**
   * SIGTERM: readiness fails at once, queued requests get 503, the running batch finishes and is
   * answered, then the listener closes and the thread ends.
   */
  shutdown(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.closed = { resolve, reject };
      this.post({ kind: 'shutdown' });
    }).finally(() => {
      this.listening = null;
      return this.thread.terminate();
    });
    return this.closing;
  }

  private attach(): Promise<LeaderServer> {
    return new Promise<LeaderServer>((resolve, reject) => {
      this.thread.on('message', (message: FromServingThread) => {
        switch (message.kind) {
          case 'listening':
            this.listening = { port: message.port, address: message.address, family: message.family };
            resolve(this);
            return;
          case 'listen-failed':
            reject(Object.assign(new Error(message.message), message.code ? { code: message.code } : {}));
            void this.thread.terminate();
            return;
          case 'run':
            void this.run(message.runId, message.batch);
            return;
          case 'prepare-images':
            void this.prepareImages(message.prepareId, message.ask);
            return;
          case 'abort':
            this.aborts.get(message.runId)?.abort(new Error('every client of the batch has gone'));
            return;
          case 'closed':
            this.closed.resolve();
            return;
          case 'shutdown-failed':
            this.closed.reject(new Error(message.message));
            return;
        }
      });
      this.thread.on('error', (err) => {
        reject(err);
        this.threadLost(err);
      });
      this.thread.on('exit', (code) => {
        if (this.closing) return;
        const err = new Error(`the serving thread exited (code ${code})`);
        reject(err);
        this.threadLost(err);
      });
    });
  }

  /**
   * Without its server the leader answers neither probes nor requests: the process ends so that the
   * launcher's failure policy restarts the group instead of the kubelet finding out minutes later.
   */
  private threadLost(err: Error): void {
    if (this.closing || !this.listening) return;
    this.logger.fatal({ err }, 'the serving thread failed; exiting');
    process.exit(1);
  }

  private async run(runId: number, batch: Parameters<GenerationExecutor['run']>[0]): Promise<void> {
    const abort = new AbortController();
    this.aborts.set(runId, abort);
    try {
      const { results, transfer } = owned(await this.executor.run(batch, abort.signal));
      this.post({ kind: 'run-done', runId, results }, transfer);
    } catch (err) {
      this.post({
        kind: 'run-failed',
        runId,
        fatal: err instanceof ExecutorFatalError,
        message: err instanceof Error ? err.message : String(err),
      });
    } finally {
      this.aborts.delete(runId);
    }
  }

  private async prepareImages(prepareId: number, ask: ImageAsk): Promise<void> {
    try {
      if (!this.images) throw new Error('this leader has no image service');
      const prepared = await this.images.prepare(ask);
      this.post({ kind: 'images-prepared', prepareId, prepared });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ImageRequestError) {
        const { field, fix } = err;
        this.post({ kind: 'images-refused', prepareId, message, field, ...(fix ? { fix } : {}) });
      } else {
        this.logger.error({ err }, 'preparing an images request failed');
        this.post({ kind: 'images-refused', prepareId, message });
      }
    }
  }

  private post(message: ToServingThread, transfer: ArrayBuffer[] = []): void {
    this.thread.postMessage(message, transfer);
  }
}
