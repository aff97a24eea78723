/**
 * USP (xdit.md §3.3): Ulysses all-to-all inside the Ulysses group (adjacent ranks), Ring attention over
 * the ring group (strided ranks) on the head groups, reverse all-to-all. U = 1 is pure Ring, R = 1 pure
 * Ulysses. With replicated joint text (§3.4 b) the text queries join the local image queries after the
 * all-to-all (computed U times, redundantly), the text K/V are sliced to this rank's head group and joined
 * once in the ring, and the text output is gathered over the Ulysses heads.
 */
import type { AttentionSite } from '../models/common/attention.js';
import { ops, type Tensor } from '../native/index.js';
import type { CommProgram, SpLayout } from './comm-steps.js';
import type { TextSharding } from './joint-text.js';
import { ringAttention } from './ring.js';
import { allGatherHeads, gatherHeads, ownHeadGroup, scatterHeads } from './ulysses.js';

interface TextSplit {
  text: Tensor;
  image: Tensor;
}

function splitText(x: Tensor, site: AttentionSite): TextSplit {
  const n = x.size(1);
  const t = site.textTokens;
  const [first, second] = site.textPosition === 'front' ? [t, n - t] : [n - t, t];
  const [a, b] = x.split([first, second], 1) as [Tensor, Tensor];
  const [text, image] = site.textPosition === 'front' ? [a, b] : [b, a];
  const dense = (view: Tensor) => {
    const c = view.contiguous();
    if (c !== view) view.release();
    return c;
  };
  return { text: dense(text), image: dense(image) };
}

function joinText(text: Tensor, image: Tensor, position: 'front' | 'rear' | 'none'): Tensor {
  return ops.concat(position === 'front' ? [text, image] : [image, text], 1);
}

/** Scatter over Ulysses when U > 1; the input itself (not a copy) when U = 1. */
function* maybeScatter(x: Tensor, u: number): CommProgram<Tensor> {
  return u === 1 ? x : yield* scatterHeads(x, u);
}

export function* uspAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  site: AttentionSite,
  layout: SpLayout,
  textSharding: TextSharding,
): CommProgram<Tensor> {
  const u = layout.ulysses.size;
  const heads = q.size(2);
  if (heads % u !== 0) {
    throw new RangeError(`Ulysses degree ${u} must divide the head count ${heads} (heads % ulysses == 0)`);
  }
  const replicatedText =
    textSharding === 'replicated' &&
    site.kind === 'joint' &&
    site.textTokens > 0 &&
    site.textPosition !== 'none';
  if (!replicatedText) {
    // Everything in the local sequence is this rank's shard: plain USP.
    const qs = yield* maybeScatter(q, u);
    const ks = yield* maybeScatter(k, u);
    const vs = yield* maybeScatter(v, u);
    const o = yield* ringAttention(qs, ks, vs, layout.ring);
    for (const t of [qs, ks, vs]) if (t !== q && t !== k && t !== v) t.release();
    if (u === 1) return o;
    const back = yield* gatherHeads(o, u);
    o.release();
    return back;
  }

  const position = site.textPosition as 'front' | 'rear';
  const qp = splitText(q, site);
  const kp = splitText(k, site);
  const vp = splitText(v, site);
  const owned: Tensor[] = [qp.text, qp.image, kp.text, kp.image, vp.text, vp.image];
  try {
    const qi = yield* maybeScatter(qp.image, u);
    const ki = yield* maybeScatter(kp.image, u);
    const vi = yield* maybeScatter(vp.image, u);
    if (u > 1) owned.push(qi, ki, vi);
    const group = layout.ulysses.rank;
    const qt = u === 1 ? qp.text : ownHeadGroup(qp.text, u, group);
    const kt = u === 1 ? kp.text : ownHeadGroup(kp.text, u, group);
    const vt = u === 1 ? vp.text : ownHeadGroup(vp.text, u, group);
    if (u > 1) owned.push(qt, kt, vt);
    const qAll = joinText(qt, qi, position);
    owned.push(qAll);
    const o = yield* ringAttention(qAll, ki, vi, layout.ring, { k: kt, v: vt, position });
    owned.push(o);
    const op = splitText(o, { ...site, textTokens: qt.size(1) });
    owned.push(op.text, op.image);
    const imageOut = u === 1 ? op.image : yield* gatherHeads(op.image, u);
    const textOut = u === 1 ? op.text : yield* allGatherHeads(op.text, u);
    const result = joinText(textOut, imageOut, position);
    if (imageOut !== op.image) imageOut.release();
    if (textOut !== op.text) textOut.release();
    return result;
  } finally {
    for (const t of owned) t.release();
  }
}
