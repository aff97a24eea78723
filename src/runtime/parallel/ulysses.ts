/**
 * Ulysses sequence parallelism (xdit.md §3.1): one all-to-all turns tokens-sharded, all-heads tensors
 * [B, s, H, D] into all-tokens, head-group tensors [B, U·s, H/U, D] (rank r owns head group r, tokens
 * in rank order), and the reverse all-to-all brings the attention output back. Exact: the attention in
 * between is the same math as on one rank, on a subset of heads.
 */
import { ops, Tensor } from '../native/index.js';
import type { CommProgram } from './comm-steps.js';

type Shape4 = [number, number, number, number];

function shape4(x: Tensor, what: string): Shape4 {
  if (x.rank !== 4) throw new RangeError(`${what} must be [B, S, H, D], got [${x.shape.join(', ')}]`);
  return x.shape as Shape4;
}

/** A contiguous copy of `x` viewed as `shape` and permuted by `order` (the view is released). */
function permuted(x: Tensor, shape: readonly number[], order: readonly number[]): Tensor {
  const view = x.reshape(shape);
  const dense = ops.permute(view, order);
  if (view !== x) view.release();
  return dense;
}

/** Sequence-sharded [B, s, H, D] → head-sharded [B, U·s, H/U, D] over the Ulysses axis of size `u`. */
export function* scatterHeads(x: Tensor, u: number): CommProgram<Tensor> {
  const [b, s, h, d] = shape4(x, 'Ulysses input');
  if (h % u !== 0) {
    throw new RangeError(`Ulysses degree ${u} must divide the head count ${h} (heads % ulysses == 0)`);
  }
  const hg = h / u;
  // Chunk j of the send buffer holds head group j of every local token: it goes to Ulysses rank j.
  const send = permuted(x, [b, s, u, hg, d], [2, 0, 1, 3, 4]);
  const recv = Tensor.empty([u, b, s, hg, d], send.dtype, send.device);
  try {
    yield { kind: 'allToAll', axis: 'ulysses', input: send, output: recv };
  } finally {
    send.release();
  }
  // Received chunk i holds rank i's tokens: rank-major concatenation gives the full sequence.
  const out = permuted(recv, [u, b, s, hg, d], [1, 0, 2, 3, 4]);
  recv.release();
  const result = out.reshape([b, u * s, hg, d]);
  if (result !== out) out.release();
  return result;
}

/** The reverse: head-sharded [B, U·s, h, D] → sequence-sharded [B, s, U·h, D]. */
export function* gatherHeads(x: Tensor, u: number): CommProgram<Tensor> {
  const [b, total, hg, d] = shape4(x, 'Ulysses output');
  if (total % u !== 0) throw new RangeError(`sequence ${total} does not divide by Ulysses degree ${u}`);
  const s = total / u;
  // Chunk j holds the tokens of Ulysses rank j for this rank's head group.
  const send = permuted(x, [b, u, s, hg, d], [1, 0, 2, 3, 4]);
  const recv = Tensor.empty([u, b, s, hg, d], send.dtype, send.device);
  try {
    yield { kind: 'allToAll', axis: 'ulysses', input: send, output: recv };
  } finally {
    send.release();
  }
  // Received chunk i is head group i of this rank's tokens.
  const out = permuted(recv, [u, b, s, hg, d], [1, 2, 0, 3, 4]);
  recv.release();
  const result = out.reshape([b, s, u * hg, d]);
  if (result !== out) out.release();
  return result;
}

/** Every Ulysses rank's head group of a replicated tensor, reassembled: [B, T, h, D] → [B, T, U·h, D]. */
export function* allGatherHeads(x: Tensor, u: number): CommProgram<Tensor> {
  const [b, t, hg, d] = shape4(x, 'head group');
  const input = x.contiguous();
  const gathered = Tensor.empty([u, b, t, hg, d], input.dtype, input.device);
  try {
    yield { kind: 'allGather', axis: 'ulysses', input, output: gathered };
  } finally {
    if (input !== x) input.release();
  }
  const out = permuted(gathered, [u, b, t, hg, d], [1, 2, 0, 3, 4]);
  gathered.release();
  const result = out.reshape([b, t, u * hg, d]);
  if (result !== out) out.release();
  return result;
}

/** This rank's head group [B, T, H/U, D] of a tensor every Ulysses rank holds in full. */
export function ownHeadGroup(x: Tensor, u: number, rank: number): Tensor {
  const [, , h] = shape4(x, 'replicated tensor');
  if (h % u !== 0) {
    throw new RangeError(`Ulysses degree ${u} must divide the head count ${h} (heads % ulysses == 0)`);
  }
  const view = x.narrow(2, rank * (h / u), h / u);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}
