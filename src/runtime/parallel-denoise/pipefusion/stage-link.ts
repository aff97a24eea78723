/**
 * The directed ring of pipeline stages (0 → 1 → … → P−1 → 0) over the PipeFusion axis: one flat f32
 * message per hop, shapes computed by the receiver, receives posted one message ahead so the transfer of
 * the next patch overlaps this patch's compute, and sends left in flight until the step ends.
 */
import type { Communicator } from '../../comm/index.js';
import { Tensor } from '../../native/index.js';

export const STATE_TAG = 8100;
export const LATENT_TAG = 8300;

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function flatten(parts: readonly Tensor[]): Tensor {
  const total = parts.reduce((n, t) => n + t.numel, 0);
  const flat = new Float32Array(total);
  let offset = 0;
  for (const t of parts) {
    flat.set(t.toFloat32Array(), offset);
    offset += t.numel;
  }
  return Tensor.fromArray(flat, [total]);
}

export function unflatten(flat: Tensor, shapes: readonly number[][]): Tensor[] {
  const values = flat.toFloat32Array();
  let offset = 0;
  return shapes.map((shape) => {
    const n = count(shape);
    const t = Tensor.fromArray(values.slice(offset, offset + n), shape);
    offset += n;
    return t;
  });
}

export interface PostedReceive {
  buffer: Tensor;
  done: Promise<void>;
}

export class StageLink {
  private readonly inFlight: Promise<void>[] = [];
  private readonly keep: Tensor[] = [];

  constructor(
    private readonly comm: Communicator,
    readonly next: number,
    readonly prev: number,
  ) {}

  /** Posts a receive of `elements` f32 values from the previous stage now; await `done` later. */
  post(elements: number, tag: number): PostedReceive {
    const buffer = Tensor.empty([elements]);
    const done = this.comm.recv(buffer, this.prev, tag);
    done.catch(() => undefined);
    return { buffer, done };
  }

  /** Starts a send to the next stage; `settle` waits for every send started since the last call. */
  send(message: Tensor, tag: number): void {
    const done = this.comm.send(message, this.next, tag);
    done.catch(() => undefined);
    this.inFlight.push(done);
    this.keep.push(message);
  }

  async settle(): Promise<void> {
    const pending = this.inFlight.splice(0);
    await Promise.all(pending);
    for (const t of this.keep.splice(0)) t.release();
  }
}

export { count as elementCount };
