/**
 * The directed ring of pipeline stages (0 → 1 → … → P−1 → 0) over the PipeFusion axis: flat messages per
 * hop, shapes computed by the receiver, receives posted one message ahead so the transfer of the next
 * patch overlaps this patch's compute, and sends left in flight until the step ends. Messages and receive
 * buffers live on the stage's device (packed and cut there, so a GPU stage copies nothing to the host).
 *
 * A stage's state travels in the model's activation dtype, so the receiving stage computes in it (a state
 * arriving in f32 beside bf16 weights would make every GEMM of the stage convert its weight): one message
 * of the parts in that dtype and, when that is not f32, a second one of the parts that must stay f32
 * (rotary tables). On the CPU the activations are f32 and a hop is one f32 message, as it always was.
 * Latents travel in f32.
 *
 * Over NCCL a receive is not waited for on the host: `ready()` makes the default stream, where the kernels
 * run, wait for it on the device, so the stage queues its next patch at once; `settle` observes every
 * receive's completion (and its error) with the sends' at the end of the step.
 */
import type { Communicator, DeviceOrderedOp } from '../../comm/index.js';
import type { StatePart } from '../../families/index.js';
import { onPlacement, type Placement } from '../../models/common/placement.js';
import { type DType, ops, Tensor } from '../../native/index.js';
import type { CommClock } from '../../parallel/comm-steps.js';

export const STATE_TAG = 8100;
export const LATENT_TAG = 8300;
/** Added to a state hop's tag for its f32 message: far above any patch index, so no hop's tags meet. */
const F32_MESSAGE_TAG = 1 << 20;

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const HOST_F32: Placement = { device: 'cpu', dtype: 'f32' };

/** One message of a state hop: its dtype and the indices of the parts it carries, in order. */
interface Wire {
  dtype: DType;
  parts: number[];
}

/** The messages of a state hop whose activations are in `dtype`: that dtype's first, then the f32 one. */
function wiresOf(parts: readonly StatePart[], dtype: DType): Wire[] {
  const main: Wire = { dtype, parts: [] };
  const exact: Wire = { dtype: 'f32', parts: [] };
  parts.forEach((p, i) => {
    (p.f32 && dtype !== 'f32' ? exact : main).parts.push(i);
  });
  return [main, exact].filter((w) => w.parts.length > 0);
}

const wireTag = (tag: number, wire: number) => tag + wire * F32_MESSAGE_TAG;

/** The parts as one flat message in `placement`'s dtype, on its device. */
export function flatten(parts: readonly Tensor[], placement: Placement = HOST_F32): Tensor {
  const flat = parts.map((t) => {
    const placed = onPlacement(t, placement);
    const row = placed.reshape([t.numel]);
    if (placed !== t) placed.release();
    return row;
  });
  const message = ops.concat(flat, 0);
  for (const row of flat) row.release();
  return message;
}

/** Views of the message's pieces in `shapes` (they keep its memory; the message may be released). */
export function unflatten(flat: Tensor, shapes: readonly (readonly number[])[]): Tensor[] {
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
  /**
   * Resolves when kernels launched afterwards may read `buffer`: over NCCL at once (the device waits for
   * the receive), over gloo once it completed. Call it once, before the first use of the buffer.
   */
  ready(): Promise<void>;
}

/** The receives of one state hop. */
export interface PostedState {
  /** `PostedReceive.ready` of every receive of the hop. */
  ready(): Promise<void>;
  /** After `done`: the parts in `stateParts` order, each in the dtype it travelled in. */
  parts(): Tensor[];
}

export class StageLink {
  private readonly inFlight: Promise<void>[] = [];
  /** Sends over NCCL, ordered on the device at `settle`. */
  private readonly sentOnDevice: DeviceOrderedOp[] = [];
  private readonly keep: Tensor[] = [];

  constructor(
    private readonly comm: Communicator,
    readonly next: number,
    readonly prev: number,
    /** Where the completions of device-ordered transfers wait for the request's settle. */
    private readonly clock: CommClock,
    /** The stage's device (receive buffers, messages) and the dtype its activations are held in. */
    private readonly placement: Placement = HOST_F32,
  ) {}

  /** Posts a receive of `elements` f32 values (latents) from the previous stage now; `ready` it later. */
  post(elements: number, tag: number, dtype: DType = 'f32'): PostedReceive {
    const buffer = Tensor.empty([elements], dtype, this.placement.device);
    if (this.comm.ordersOnDevice) {
      const op = this.comm.recvOnDevice(buffer, this.prev, tag);
      op.done.catch(() => undefined);
      return {
        buffer,
        ready: () => this.clock.order(op),
      };
    }
    const done = this.comm.recv(buffer, this.prev, tag);
    done.catch(() => undefined);
    return { buffer, ready: () => done };
  }

  /** Posts the receives of a state made of `parts` from the previous stage now. */
  postState(parts: readonly StatePart[], tag: number): PostedState {
    const posted = wiresOf(parts, this.placement.dtype).map((wire, w) => ({
      wire,
      receive: this.post(
        wire.parts.reduce((a, i) => a + count((parts[i] as StatePart).shape), 0),
        wireTag(tag, w),
        wire.dtype,
      ),
    }));
    return {
      ready: () => Promise.all(posted.map((p) => p.receive.ready())).then(() => undefined),
      parts: () => {
        const out: Tensor[] = new Array(parts.length);
        for (const { wire, receive } of posted) {
          const pieces = unflatten(
            receive.buffer,
            wire.parts.map((i) => (parts[i] as StatePart).shape),
          );
          receive.buffer.release();
          wire.parts.forEach((i, k) => {
            out[i] = pieces[k] as Tensor;
          });
        }
        return out;
      },
    };
  }

  /** Starts a send to the next stage; `settle` waits for every send started since the last call. */
  send(message: Tensor, tag: number): void {
    if (this.comm.ordersOnDevice) {
      const op = this.comm.sendOnDevice(message, this.next, tag);
      op.done.catch(() => undefined);
      this.sentOnDevice.push(op);
    } else {
      const done = this.comm.send(message, this.next, tag);
      done.catch(() => undefined);
      this.inFlight.push(done);
    }
    this.keep.push(message);
  }

  /** Starts the sends of a state: `tensors` as `parts` describes them (what the next stage posts). */
  sendState(tensors: readonly Tensor[], parts: readonly StatePart[], tag: number): void {
    if (tensors.length !== parts.length) {
      throw new Error(
        `PipeFusion stage message: ${tensors.length} tensors but the next stage expects ${parts.length}`,
      );
    }
    tensors.forEach((t, i) => {
      const shape = (parts[i] as StatePart).shape;
      if (t.numel !== count(shape)) {
        throw new Error(
          `PipeFusion stage message: part ${i} holds ${t.numel} values but the next stage expects [${shape.join(', ')}]`,
        );
      }
    });
    wiresOf(parts, this.placement.dtype).forEach((wire, w) => {
      const message = flatten(
        wire.parts.map((i) => tensors[i] as Tensor),
        { device: this.placement.device, dtype: wire.dtype },
      );
      this.send(message, wireTag(tag, w));
    });
  }

  /**
   * Ends a step's traffic and frees its messages. Over gloo the host waits for every send
   * started since the last call. Over NCCL it does not: the default stream waits on the device for each
   * send, and the messages are freed behind that wait — device memory goes back to the pool in the
   * default stream's order, so nothing reuses a message before its send has read it — while the
   * completions go to the clock, whose owner settles them once per request (a failed communicator
   * refuses the next ordering with the reason, so a failure still surfaces at once).
   */
  async settle(): Promise<void> {
    if (this.comm.ordersOnDevice) {
      for (const op of this.sentOnDevice.splice(0)) await this.clock.order(op);
    } else {
      await this.clock.wait(Promise.all(this.inFlight.splice(0)));
    }
    for (const t of this.keep.splice(0)) t.release();
  }
}

export { count as elementCount };
