/**
 * The queue-and-wait step both generation routes share: a client that left while its body was read or
 * checked costs no run, and one that leaves while it waits takes its request out of the queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchScheduler, Completed } from './batch-scheduler.js';
import type { GenerationRequest } from './executor.js';
import { RequestError } from './request-error.js';

export interface QueuedRequest {
  request: GenerationRequest;
  batchKey: string;
  timeoutMs: number;
}

/** The completed run, or null when the client has gone and there is nobody to answer. */
export async function runQueued(
  scheduler: BatchScheduler,
  req: IncomingMessage,
  res: ServerResponse,
  queued: QueuedRequest,
): Promise<Completed | null> {
  // 'close' has already fired for a client that left while its body was parsed.
  if (res.destroyed || req.socket.destroyed) {
    throw new RequestError(
      499,
      'client_closed',
      'the client closed the connection before the request was queued',
    );
  }
  const ticket = scheduler.submit(queued.request, queued.batchKey, queued.timeoutMs);
  res.once('close', () => {
    if (!res.writableFinished) {
      ticket.cancel(
        new RequestError(499, 'client_closed', 'the client closed the connection before the answer'),
      );
    }
  });
  const outcome = await ticket.outcome;
  if (res.destroyed) return null;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
