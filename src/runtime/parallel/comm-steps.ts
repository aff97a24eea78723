/**
 * Parallel algorithms (Ulysses, Ring, USP) are written as generators that yield the communication they
 * need as `CommStep`s, and a driver performs them. The algorithms stay pure index math over tensors
 * (testable step by step, no communicator in sight), and the driver owns how a step runs: Ring hops are
 * started before a block's attention and waited for after it. Over gloo the host awaits each operation.
 * Over NCCL the GPU waits instead: the default stream, where the kernels run, is made to wait for the
 * operation on the device (`orderDefaultStream`), so the host launches the next kernels at once and the
 * GPU never idles on a host poll. The operations' completions are kept on the clock, whose owner awaits
 * them once (`settle`, once per request in parallelDenoise) for their errors; a failure surfaces sooner
 * all the same, since a failed communicator refuses the next ordering with the reason (a stuck hop still
 * ends the rank with the watchdog's reason).
 */
import type { Communicator, DeviceOrderedOp } from '../comm/index.js';
import type { Tensor } from '../native/index.js';

/** The sequence-parallel axes an attention layer talks over. */
export type SpAxis = 'ulysses' | 'ring';

export interface PeerTransfer {
  buf: Tensor;
  peer: number;
  tag: number;
}

/** One communication request; `startExchange` answers a ticket that a later `wait` redeems. */
export type CommStep =
  | { kind: 'allToAll'; axis: SpAxis; input: Tensor; output: Tensor }
  | { kind: 'allGather'; axis: SpAxis; input: Tensor; output: Tensor }
  | { kind: 'startExchange'; axis: SpAxis; sends: PeerTransfer[]; recvs: PeerTransfer[] }
  | { kind: 'wait'; ticket: number };

/** What a step answers: a ticket for `startExchange`, nothing otherwise. */
export type StepAnswer = number | undefined;

export type CommProgram<T> = Generator<CommStep, T, StepAnswer>;

/** Size and position of this rank on each sequence-parallel axis. */
export interface SpLayout {
  ulysses: { size: number; rank: number };
  ring: { size: number; rank: number };
}

/**
 * Wall time a rank spends waiting on communication (not the time a transfer runs hidden behind
 * compute): what the benchmark reports as the communication share of a step.
 */
export class CommClock {
  ms = 0;
  private readonly ordered: Promise<void>[] = [];

  async wait<T>(pending: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await pending;
    } finally {
      this.ms += performance.now() - started;
    }
  }

  /** Keeps the completion of an operation the GPU waits for (NCCL) until `settle`. */
  defer(done: Promise<void>): void {
    done.catch(() => undefined);
    this.ordered.push(done);
  }

  /**
   * Makes the default stream wait on the device for `op` and keeps its completion until `settle`. An
   * operation refused before it started rejects here, at once, with the reason — not at the settle, after
   * the rest of the request was queued on a transfer that never ran.
   */
  async order(op: DeviceOrderedOp): Promise<void> {
    if (!op.started) return op.done;
    this.defer(op.done);
    op.orderDefaultStream();
  }

  /** Awaits every completion kept since the last call; rejects with the first failure. */
  async settle(): Promise<void> {
    const pending = this.ordered.splice(0);
    if (pending.length > 0) await this.wait(Promise.all(pending));
  }
}

/**
 * Runs a program against real communicators (timed on `clock` when given). With a clock, the completions
 * of device-ordered operations stay on it for its owner's `settle`; without one, the program settles
 * them before it returns.
 */
export async function runProgram<T>(
  program: CommProgram<T>,
  comms: Record<SpAxis, Communicator>,
  clock?: CommClock,
): Promise<T> {
  const owner = clock ?? new CommClock();
  const pending = new Map<number, Promise<void> | DeviceOrderedOp>();
  let nextTicket = 1;
  let answer: StepAnswer;
  try {
    for (;;) {
      const next = program.next(answer);
      if (next.done) {
        if (!clock) await owner.settle();
        return next.value;
      }
      const step = next.value;
      answer = undefined;
      const comm = step.kind === 'wait' ? undefined : comms[step.axis];
      switch (step.kind) {
        case 'allToAll':
          if (comm?.ordersOnDevice) await owner.order(comm.allToAllOnDevice(step.input, step.output));
          else await owner.wait(comms[step.axis].allToAll(step.input, step.output));
          break;
        case 'allGather':
          if (comm?.ordersOnDevice) await owner.order(comm.allGatherOnDevice(step.input, step.output));
          else await owner.wait(comms[step.axis].allGather(step.input, step.output));
          break;
        case 'startExchange': {
          const transfers = { sends: step.sends, recvs: step.recvs };
          const started = comm?.ordersOnDevice
            ? comm.exchangeOnDevice(transfers)
            : comms[step.axis].exchange(transfers);
          // Refused before it started: the program goes no further.
          if (!(started instanceof Promise) && !started.started) await started.done;
          // Observed at `wait` (or when the program ends); until then a rejection must not count as unhandled.
          (started instanceof Promise ? started : started.done).catch(() => undefined);
          pending.set(nextTicket, started);
          answer = nextTicket++;
          break;
        }
        case 'wait': {
          const started = pending.get(step.ticket);
          if (!started) throw new Error(`comm program waited on unknown ticket ${step.ticket}`);
          pending.delete(step.ticket);
          if (started instanceof Promise) await owner.wait(started);
          else await owner.order(started);
          break;
        }
      }
    }
  } catch (err) {
    // Let the generator release what it holds (its finally blocks) before the error travels on.
    program.return(undefined as T);
    throw err;
  }
}
