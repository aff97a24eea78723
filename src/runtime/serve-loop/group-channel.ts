/**
 * The broadcast side of the serve loop: the leader (world rank 0) sends a GroupMessage and its tensors,
 * every other rank receives them. Collectives must be issued in the same order on every rank, so the
 * leader's sends are serialised here (a heartbeat never interleaves with a run's tensors).
 */
import type { Communicator } from '../comm/index.js';
import type { Tensor } from '../native/index.js';
import {
  decodeHeader,
  elementCount,
  encodeHeader,
  type GroupMessage,
  HEADER_BYTES,
  type InputField,
  type TensorHeader,
  tensorFrom,
} from './group-message.js';

const ROOT = 0;

export interface Received {
  message: GroupMessage;
  /** A run's tensors by field, a decode's latents as `latents` (empty for heartbeat and shutdown). */
  tensors: Map<InputField, Tensor>;
}

/** Waits for the leader's next message. Rejects (CommError) when the leader or the group is gone. */
export async function receiveMessage(world: Communicator): Promise<Received> {
  const header = new Uint8Array(HEADER_BYTES);
  await world.broadcast(header, ROOT);
  const message = decodeHeader(header);
  const tensors = new Map<InputField, Tensor>();
  const specs =
    message.kind === 'run'
      ? message.tensors
      : message.kind === 'decode'
        ? [{ field: 'latents', shape: message.shape }]
        : [];
  for (const spec of specs) {
    const values = new Float32Array(elementCount(spec.shape));
    await world.broadcast(values, ROOT);
    tensors.set(spec.field, tensorFrom(values, spec.shape));
  }
  return { message, tensors };
}

/** The leader's sending side: one message at a time, in call order. */
export class LeaderChannel {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly world: Communicator) {
    if (world.rank !== ROOT) throw new Error(`only rank ${ROOT} leads the group, not rank ${world.rank}`);
  }

  /**
   * Runs `work` after every earlier exclusive section has settled, so the collectives it issues follow
   * theirs on every rank in the same order.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Broadcasts a message; call inside exclusive() when a run's denoise must follow it. */
  async send(message: GroupMessage, tensors: readonly [InputField, Tensor][] = []): Promise<void> {
    await this.world.broadcast(encodeHeader(message), ROOT);
    for (const [, tensor] of tensors) {
      // Dense f32 values, whatever the tensor's layout: the receivers rebuild it from the header's shape.
      await this.world.broadcast(tensor.toFloat32Array(), ROOT);
    }
  }
}

export function tensorHeaders(tensors: readonly [InputField, Tensor][]): TensorHeader[] {
  return tensors.map(([field, t]) => ({ field, shape: [...t.shape] }));
}
