/**
 * Messages between a rank's main thread and its comm thread (blocking-comm.ts, comm-thread.ts). Buffers
 * travel in SharedArrayBuffers; each request carries a status word the main thread blocks on
 * (0 pending, 1 done, 2 failed) and a region for the failure's message.
 */
import type { SpAxis } from './comm-steps.js';

export const STATUS_PENDING = 0;
export const STATUS_DONE = 1;
export const STATUS_FAILED = 2;
export const MESSAGE_BYTES = 4096;

export interface SharedTransfer {
  data: SharedArrayBuffer;
  peer: number;
  tag: number;
}

export type ThreadRequest =
  | {
      kind: 'allToAll' | 'allGather';
      axis: SpAxis;
      input: SharedArrayBuffer;
      output: SharedArrayBuffer;
      status: SharedArrayBuffer;
      message: SharedArrayBuffer;
    }
  | {
      kind: 'exchange';
      axis: SpAxis;
      sends: SharedTransfer[];
      recvs: SharedTransfer[];
      status: SharedArrayBuffer;
      message: SharedArrayBuffer;
    }
  | { kind: 'close'; status: SharedArrayBuffer; message: SharedArrayBuffer };

/** What the comm thread needs to open its own communicators in the group's session. */
export interface ThreadSetup {
  host: string;
  port: number;
  rank: number;
  size: number;
  backend: 'gloo' | 'nccl';
  prefix: string;
  generation: number;
  timeoutMs: number;
  listenHost?: string;
  ulyssesRanks: number[];
  ringRanks: number[];
  /** Set to 1 (done) or 2 (failed) once the communicators are up. */
  ready: SharedArrayBuffer;
  readyMessage: SharedArrayBuffer;
}
