/**
 * Parallel algorithms (Ulysses, Ring, USP) are written as generators that yield the communication they
 * need as `CommStep`s, and a driver performs them. The algorithms stay pure index math over tensors
 * (testable step by step, no communicator in sight), and the driver owns how a step runs: here awaiting
 * the communicators, with Ring hops started before a block's attention and awaited after it.
 */
import type { Communicator } from '../comm/index.js';
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

  async wait<T>(pending: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await pending;
    } finally {
      this.ms += performance.now() - started;
    }
  }
}

/** Runs a program against real communicators, awaiting each step (timed on `clock` when given). */
export async function runProgram<T>(
  program: CommProgram<T>,
  comms: Record<SpAxis, Communicator>,
  clock: CommClock = new CommClock(),
): Promise<T> {
  const pending = new Map<number, Promise<void>>();
  let nextTicket = 1;
  let answer: StepAnswer;
  try {
    for (;;) {
      const next = program.next(answer);
      if (next.done) return next.value;
      const step = next.value;
      answer = undefined;
      switch (step.kind) {
        case 'allToAll':
          await clock.wait(comms[step.axis].allToAll(step.input, step.output));
          break;
        case 'allGather':
          await clock.wait(comms[step.axis].allGather(step.input, step.output));
          break;
        case 'startExchange': {
          const done = comms[step.axis].exchange({ sends: step.sends, recvs: step.recvs });
          // Observed at `wait`; until then a rejection must not count as unhandled.
          done.catch(() => undefined);
          pending.set(nextTicket, done);
          answer = nextTicket++;
          break;
        }
        case 'wait': {
          const done = pending.get(step.ticket);
          if (!done) throw new Error(`comm program waited on unknown ticket ${step.ticket}`);
          pending.delete(step.ticket);
          await clock.wait(done);
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
