/**
 * What the leader's serving thread and the rank's main thread say to each other (leader-server.ts is the
 * main side, serving-thread.ts the thread). Requests and results cross as structured clones: Maps, plain
 * arrays and Float32Arrays, nothing with methods.
 */
import type { ImageAsk } from '../pipeline/image-request.js';
import type { GenerationRequest, GenerationResult } from './executor.js';
import type { PreparedImages } from './image-service.js';
import type { ServingLimits } from './limits.js';

/** What the thread is started with (its workerData). */
export interface ServingThreadData {
  limits: ServingLimits;
  maxBatch: number;
  queueSize: number;
  authToken: string | undefined;
  port: number;
  host: string;
  /** The main thread's logger context and level, so the thread's lines read like the rank's. */
  logBindings: Record<string, unknown>;
  logLevel: string;
  /** Set when the group serves the images API: the model name its PNGs record. */
  images?: { model: string };
}

/** Main thread → serving thread. */
export type ToServingThread =
  | { kind: 'started' }
  | { kind: 'fatal'; reason: string; cause?: { message: string; stack?: string } }
  | { kind: 'shutdown' }
  | { kind: 'run-done'; runId: number; results: GenerationResult[] }
  | { kind: 'run-failed'; runId: number; fatal: boolean; message: string }
  | { kind: 'images-prepared'; prepareId: number; prepared: PreparedImages }
  /** `field` set: the request is at fault (400); unset: the leader failed to prepare it (500). */
  | { kind: 'images-refused'; prepareId: number; message: string; field?: string; fix?: string };

/** Serving thread → main thread. */
export type FromServingThread =
  | { kind: 'listening'; port: number; address: string; family: string }
  | { kind: 'listen-failed'; message: string; code?: string }
  | { kind: 'run'; runId: number; batch: GenerationRequest[] }
  | { kind: 'abort'; runId: number }
  /** An images request to check and encode on the rank's thread, where the text encoders are. */
  | { kind: 'prepare-images'; prepareId: number; ask: ImageAsk }
  | { kind: 'closed' }
  | { kind: 'shutdown-failed'; message: string };
