/**
 * Ring attention (xdit.md §3.2): every ring rank keeps its queries and passes its K/V block around the
 * ring, R−1 hops, each hop posted before the block's attention runs so the transfer overlaps compute.
 * Partial results merge through the log-sum-exp in f32 (LseAccumulator), on the device of the blocks.
 *
 * Replicated joint text (xdit.md §3.4 b): the text K/V every rank holds is joined to the block of exactly
 * one ring step — the first for text-first models (Flux), the last for text-last ones (SD3) — so the
 * softmax counts each text key once.
 */
import { ops, Tensor } from '../native/index.js';
import type { CommProgram } from './comm-steps.js';
import { LseAccumulator } from './lse-merge.js';

export interface InjectedText {
  k: Tensor;
  v: Tensor;
  /** Where the text sits in the joint sequence: 'front' joins it before the first block, 'rear' after the last. */
  position: 'front' | 'rear';
}

export interface RingPlace {
  size: number;
  rank: number;
}

function withText(block: Tensor, text: Tensor | undefined, position: 'front' | 'rear'): Tensor {
  if (!text) return block;
  return ops.concat(position === 'front' ? [text, block] : [block, text], 1);
}

/** Attention of q [B, Sq, h, D] over the K/V blocks of every ring rank (+ the injected text) → [B, Sq, h, D]. */
export function* ringAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  ring: RingPlace,
  text?: InjectedText,
): CommProgram<Tensor> {
  const { size, rank } = ring;
  if (size === 1) {
    // One block: plain attention, the same kernel call as one process.
    const kk = withText(k, text?.k, text?.position ?? 'front');
    const vv = withText(v, text?.v, text?.position ?? 'front');
    try {
      return ops.attention(q, kk, vv);
    } finally {
      if (kk !== k) kk.release();
      if (vv !== v) vv.release();
    }
  }
  const next = (rank + 1) % size;
  const prev = (rank + size - 1) % size;
  const acc = new LseAccumulator(q.shape as [number, number, number, number]);
  let curK = k;
  let curV = v;
  try {
    for (let step = 0; step < size; step++) {
      let ticket: number | undefined;
      let nextK: Tensor | undefined;
      let nextV: Tensor | undefined;
      if (step < size - 1) {
        nextK = Tensor.empty(curK.shape, curK.dtype, curK.device);
        nextV = Tensor.empty(curV.shape, curV.dtype, curV.device);
        ticket = yield {
          kind: 'startExchange',
          axis: 'ring',
          sends: [
            { buf: curK, peer: next, tag: 2 * step },
            { buf: curV, peer: next, tag: 2 * step + 1 },
          ],
          recvs: [
            { buf: nextK, peer: prev, tag: 2 * step },
            { buf: nextV, peer: prev, tag: 2 * step + 1 },
          ],
        };
      }
      const inject =
        text &&
        ((text.position === 'front' && step === 0) || (text.position === 'rear' && step === size - 1));
      const blockK = inject ? withText(curK, text.k, text.position) : curK;
      const blockV = inject ? withText(curV, text.v, text.position) : curV;
      const { out, lse } = ops.attentionWithLse(q, blockK, blockV);
      acc.add(out, lse);
      out.release();
      lse.release();
      if (blockK !== curK) blockK.release();
      if (blockV !== curV) blockV.release();
      if (ticket !== undefined && nextK && nextV) {
        yield { kind: 'wait', ticket };
        if (curK !== k) curK.release();
        if (curV !== v) curV.release();
        curK = nextK;
        curV = nextV;
      }
    }
  } finally {
    if (curK !== k) curK.release();
    if (curV !== v) curV.release();
  }
  return acc.result();
}
