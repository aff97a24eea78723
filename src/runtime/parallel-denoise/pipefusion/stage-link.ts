/**
 * The directed ring of pipeline stages (0 → 1 → … → P−1 → 0) over the PipeFusion axis: one flat f32
 * message per hop, shapes computed by the receiver, receives posted one message ahead so the transfer of
 * the next patch overlaps this patch's compute, and sends left in flight until the step ends. Messages
 * and receive buffers live on the stage's device (packed and cut there, so a GPU stage copies nothing
 * to the host; f32 keeps the rotary tables exact beside bf16 activations).
 */
import type { Communicator } from '../../comm/index.js';
import { type Device, ops, Tensor } from '../../native/index.js';

export const STATE_TAG = 8100;
export const LATENT_TAG = 8300;

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The parts as one flat f32 message, on their device. */
export function flatten(parts: readonly Tensor[]): Tensor {
  const flat = parts.map((t) => {
    const f32 = t.dtype === 'f32' ? t : t.to('f32');
    const row = f32.reshape([t.numel]);
    if (f32 !== t) f32.release();
    return row;
  });
  const message = ops.concat(flat, 0);
  for (const row of flat) row.release();
  return message;
}

/** Views of the message's pieces in `shapes` (they keep its memory; the message may be released). */
export function unflatten(flat: Tensor, shapes: readonly number[][]): Tensor[] {
  let offset = 0;
  return shapes.map((shape) => {
    const n = count(shape);
    const piece = flat.narrow(0, offset, n);
    const view = piece.reshape(shape);
    piece.release();
    offset += n;
    return view;
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
    /** Where the receive buffers live: the stage's device. */
    private readonly device: Device = 'cpu',
  ) {}

  /** Posts a receive of `elements` f32 values from the previous stage now; await `done` later. */
  post(elements: number, tag: number): PostedReceive {
    const buffer = Tensor.empty([elements], 'f32', this.device);
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
