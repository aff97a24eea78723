/**
 * Attention through PipeFusion's KV buffers, with Ulysses inside the stage (xdit.md §3.5–3.6). The
 * buffers hold K/V *after* the Ulysses all-to-all — every token of the image for this rank's head group —
 * so a patch's fresh K/V from all Ulysses ranks lands in every rank's buffer.
 *
 * - `fill` (warm-up steps, whole image): the exact USP result, and the image K/V of the step written
 *   into the buffers for the patch steps that follow.
 * - `patch`: this rank holds one sub-band of a patch; the patch's K/V (gathered over Ulysses) overwrite
 *   the patch rows [start, end) of the buffer, and the queries attend over the text K/V (fresh, never
 *   cached) and the whole buffer.
 * Ring inside a stage is only supported in warm-up steps (the buffers would have to rotate around it).
 */
import type { AttentionSite } from '../models/common/attention.js';
import { ops, type Tensor } from '../native/index.js';
import type { CommProgram, SpLayout } from './comm-steps.js';
import type { KvBuffers } from './kv-buffers.js';
import { allGatherHeads, gatherHeads, ownHeadGroup, scatterHeads } from './ulysses.js';
import { uspAttention } from './usp-attention.js';

export type KvMode = { kind: 'fill' } | { kind: 'patch'; start: number; end: number };

const layerName = (site: AttentionSite) => `${site.block}/${site.kind}`;

function part(x: Tensor, start: number, length: number): Tensor {
  const view = x.narrow(1, start, length);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

/** Text and image parts of a joint q/k/v as the site lays them out. */
function parts(x: Tensor, site: AttentionSite): { text: Tensor | null; image: Tensor } {
  const t = site.kind === 'joint' ? site.textTokens : 0;
  if (t === 0) return { text: null, image: x.contiguous() };
  const n = x.size(1) - t;
  return site.textPosition === 'front'
    ? { text: part(x, 0, t), image: part(x, t, n) }
    : { text: part(x, n, t), image: part(x, 0, n) };
}

function join(text: Tensor | null, image: Tensor, site: AttentionSite): Tensor {
  if (!text) return image;
  return ops.concat(site.textPosition === 'front' ? [text, image] : [image, text], 1);
}

function* toHeadGroups(x: Tensor, u: number): CommProgram<Tensor> {
  return u === 1 ? x : yield* scatterHeads(x, u);
}

export function* kvBufferAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  site: AttentionSite,
  layout: SpLayout,
  buffers: KvBuffers,
  mode: KvMode,
): CommProgram<Tensor> {
  const u = layout.ulysses.size;
  if (mode.kind === 'fill') {
    const out = yield* uspAttention(q, k, v, site, layout, 'replicated');
    if (layout.ring.size > 1) return out;
    const kp = parts(k, site);
    const vp = parts(v, site);
    const kAll = yield* toHeadGroups(kp.image, u);
    const vAll = yield* toHeadGroups(vp.image, u);
    buffers.write(layerName(site), 0, kAll, vAll);
    return out;
  }
  if (layout.ring.size > 1) {
    throw new Error('PipeFusion patch steps with ring > 1 inside a stage are not supported');
  }
  const group = layout.ulysses.rank;
  const qp = parts(q, site);
  const kp = parts(k, site);
  const vp = parts(v, site);
  const qi = yield* toHeadGroups(qp.image, u);
  const ki = yield* toHeadGroups(kp.image, u);
  const vi = yield* toHeadGroups(vp.image, u);
  const name = layerName(site);
  buffers.write(name, mode.start, ki, vi);
  const buffer = buffers.layer(name);
  const head = (x: Tensor | null) => (x && u > 1 ? ownHeadGroup(x, u, group) : x);
  const qt = head(qp.text);
  const kt = head(kp.text);
  const vt = head(vp.text);
  const qAll = join(qt, qi, site);
  const kAll = join(kt, buffer.k, site);
  const vAll = join(vt, buffer.v, site);
  const o = ops.attention(qAll, kAll, vAll);
  const textTokens = qt ? qt.size(1) : 0;
  const op = parts(o, { ...site, textTokens });
  const imageOut = u === 1 ? op.image : yield* gatherHeads(op.image, u);
  const textOut = op.text && u > 1 ? yield* allGatherHeads(op.text, u) : op.text;
  const result = join(textOut, imageOut, site);
  // Everything made here except the result and the buffers (q, k, v belong to the caller).
  const made = new Set([qp.text, qp.image, kp.text, kp.image, vp.text, vp.image, qi, ki, vi, qt, kt, vt]);
  for (const t of [qAll, kAll, vAll, o, op.text, op.image, imageOut, textOut]) made.add(t);
  for (const t of made) {
    if (t && t !== result && t !== q && t !== k && t !== v && t !== buffer.k && t !== buffer.v) t.release();
  }
  return result;
}
