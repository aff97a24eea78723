/**
 * The leader's HTTP server, run in a worker thread of the rank-0 process (started by leader-server.ts).
 * Probes, metrics, request checks, the queue and its deadlines all live here; only the executor's runs
 * go to the main thread, where the rank's model and communicators are. A denoising step holds the main
 * thread for as long as it computes, and this thread keeps answering meanwhile.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { log } from '../../shared/log.js';
import {
  ExecutorFatalError,
  type GenerationExecutor,
  type GenerationRequest,
  type GenerationResult,
} from './executor.js';
import { GenerationServer } from './generation-server.js';
import { ThreadImageService } from './thread-images.js';
import type { FromServingThread, ServingThreadData, ToServingThread } from './thread-messages.js';

interface PendingRun {
  resolve: (results: GenerationResult[]) => void;
  reject: (err: Error) => void;
}

/** The executor as the server sees it: each run is a message to the main thread and its answer. */
class MainThreadExecutor implements GenerationExecutor {
  private readonly pending = new Map<number, PendingRun>();
  private lastRunId = 0;

  constructor(
    readonly maxBatch: number,
    private readonly port: MessagePort,
  ) {}

  run(batch: readonly GenerationRequest[], signal: AbortSignal): Promise<GenerationResult[]> {
    const runId = ++this.lastRunId;
    const onAbort = () => send(this.port, { kind: 'abort', runId });
    signal.addEventListener('abort', onAbort, { once: true });
    return new Promise<GenerationResult[]>((resolve, reject) => {
      this.pending.set(runId, { resolve, reject });
      send(this.port, { kind: 'run', runId, batch: [...batch] });
    }).finally(() => signal.removeEventListener('abort', onAbort));
  }

  settle(message: Extract<ToServingThread, { kind: 'run-done' | 'run-failed' }>): void {
    const run = this.pending.get(message.runId);
    if (!run) return;
    this.pending.delete(message.runId);
    if (message.kind === 'run-done') run.resolve(message.results);
    else run.reject(message.fatal ? new ExecutorFatalError(message.message) : new Error(message.message));
  }
}

function send(port: MessagePort, message: FromServingThread): void {
  port.postMessage(message);
}

function causeOf(cause: { message: string; stack?: string } | undefined): Error | undefined {
  if (!cause) return undefined;
  const err = new Error(cause.message);
  if (cause.stack !== undefined) err.stack = cause.stack;
  return err;
}

async function serve(port: MessagePort, data: ServingThreadData): Promise<void> {
  const logger = log.child({ ...data.logBindings, thread: 'serving' });
  logger.level = data.logLevel;
  const executor = new MainThreadExecutor(data.maxBatch, port);
  const images = data.images ? new ThreadImageService(data.images.model, port) : undefined;
  const server = new GenerationServer({
    executor,
    limits: data.limits,
    queueSize: data.queueSize,
    authToken: data.authToken,
    logger,
    ...(images ? { images } : {}),
  });
  port.on('message', (message: ToServingThread) => {
    switch (message.kind) {
      case 'run-done':
      case 'run-failed':
        executor.settle(message);
        return;
      case 'images-prepared':
      case 'images-refused':
        images?.settle(message);
        return;
      case 'started':
        server.markStarted();
        return;
      case 'fatal':
        server.reportFatal(message.reason, causeOf(message.cause));
        return;
      case 'shutdown':
        server.shutdown().then(
          () => send(port, { kind: 'closed' }),
          (err: unknown) => send(port, { kind: 'shutdown-failed', message: (err as Error).message }),
        );
        return;
    }
  });
  try {
    const address = await server.listen(data.port, data.host);
    send(port, { kind: 'listening', port: address.port, address: address.address, family: address.family });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    send(port, { kind: 'listen-failed', message: (err as Error).message, ...(code ? { code } : {}) });
  }
}

if (parentPort) void serve(parentPort, workerData as ServingThreadData);
