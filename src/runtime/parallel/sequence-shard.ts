/**
 * Cutting a joint [text; image] (or [image; text]) sequence into a sequence-parallel rank's share, and
 * back. SP rank s = u + U·r owns image shard s (xDiT's order: the Ulysses all-to-all concatenates
 * adjacent ranks' shards, the ring rotates those blocks). Text is cut the same way when split, else kept
 * whole on every rank.
 */
import type { AttentionSite } from '../models/common/attention.js';
import { ops, type Tensor } from '../native/index.js';
import { shardRange, type TextSharding } from './joint-text.js';

/** The rows [start, end) of axis 1 as a contiguous tensor. */
export function tokenSlice(x: Tensor, start: number, end: number): Tensor {
  const view = x.narrow(1, start, end - start);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

/** This SP rank's part of a joint sequence x [B, N, ...] laid out as `site` says. */
export function shardJoint(
  x: Tensor,
  site: Pick<AttentionSite, 'textTokens' | 'textPosition'>,
  sharding: TextSharding,
  sp: number,
  spRank: number,
): { tensor: Tensor; textTokens: number } {
  const total = x.size(1);
  const t = site.textTokens;
  const imageTokens = total - t;
  const imageStart = site.textPosition === 'front' ? t : 0;
  const textStart = site.textPosition === 'front' ? 0 : imageTokens;
  const [is, ie] = shardRange(imageTokens, sp, spRank, 'image tokens');
  const image = tokenSlice(x, imageStart + is, imageStart + ie);
  if (t === 0) return { tensor: image, textTokens: 0 };
  const [ts, te] = sharding === 'split' ? shardRange(t, sp, spRank, 'text tokens') : [0, t];
  const text = tokenSlice(x, textStart + ts, textStart + te);
  const tensor = ops.concat(site.textPosition === 'front' ? [text, image] : [image, text], 1);
  image.release();
  text.release();
  return { tensor, textTokens: te - ts };
}
