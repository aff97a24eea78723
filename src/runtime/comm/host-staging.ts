/**
 * gloo moves host memory only. A 'cuda' tensor given to a gloo communicator travels through a host copy:
 * downloaded before the operation when the operation reads it, uploaded back after it when the operation
 * writes it. This is how a group of several ranks shares one GPU (NCCL refuses two ranks on one device),
 * e.g. the GPU check's 2-rank group; every such copy shows in transferCounts().
 */
import { Tensor } from '../native/tensor.js';
import type { CommBuffer } from './binding.js';

/** What the operation does with the buffer. */
export type Access = 'read' | 'write' | 'readWrite';

export interface Staged {
  /** The buffer to hand to gloo: the host copy, or the buffer itself when it is host memory. */
  buf: CommBuffer;
  /** After a successful operation: writes a written host copy back to the device tensor. */
  copyBack(): void;
  /** Frees the host copy (always, success or not). */
  release(): void;
}

export function stageThroughHost(buf: CommBuffer, access: Access): Staged {
  if (!(buf instanceof Tensor) || buf.device === 'cpu') {
    return { buf, copyBack: () => undefined, release: () => undefined };
  }
  const host = access === 'write' ? Tensor.empty(buf.shape, buf.dtype, 'cpu') : buf.toDevice('cpu');
  return {
    buf: host,
    copyBack: () => {
      if (access !== 'read') buf.copyFrom(host);
    },
    release: () => host.release(),
  };
}
