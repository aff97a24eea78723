/**
 * Attention as a pluggable function. Models compute q, k, v (projection, q/k RMSNorm, RoPE) and call the
 * `AttentionFn` they are given; the one-process runtime passes `localAttention`, and the parallel runtime
 * passes Ulysses / Ring / USP / PipeFusion variants that exchange tokens or heads around the same call
 * (xdit.md §3). The site says which layer is calling and where the text tokens sit, which a sequence-
 * parallel variant needs for joint text handling and a PipeFusion variant for its per-layer KV buffer.
 * Cross-attention to text that every rank holds whole (PixArt's T5 tokens) is not routed through it: a
 * model computes it locally, since each query needs only the replicated text K/V.
 */
import { ops, type Tensor } from '../../native/index.js';
import { Linear } from './linear.js';
import type { WeightLookup } from './weights.js';

export interface AttentionSite {
  /** The block's position in execution order (Flux: double blocks, then single blocks). */
  block: number;
  /** 'joint': text and image tokens together; 'image': image tokens only (SD3.5's second attention). */
  kind: 'joint' | 'image';
  /** Text tokens in this call's sequence (0 for 'image'). */
  textTokens: number;
  /** Flux puts text first ([text; image]); SD3 puts it last ([image; text]). */
  textPosition: 'front' | 'rear' | 'none';
}

/**
 * Non-causal softmax attention over q [B, Sq, H, Dh], k/v [B, Sk, H, Dh] → [B, Sq, H, Dh], scale 1/√Dh.
 * The inputs belong to the caller (do not release them); the result belongs to the model. It may return a
 * promise: the collectives of sequence-parallel attention are asynchronous, and awaiting them here keeps
 * the Node event loop free (models await every attention call).
 */
export type AttentionFn = (q: Tensor, k: Tensor, v: Tensor, site: AttentionSite) => Tensor | Promise<Tensor>;

/** Full attention in this process. */
export const localAttention: AttentionFn = (q, k, v) => ops.attention(q, k, v);

export const QK_NORM_EPS = 1e-6;

/**
 * A q, k or v projection reshaped to heads [B, S, H, Dh], with the optional per-head RMSNorm (weight
 * [Dh], eps 1e-6) that Flux always and SD3.5 with qk_norm "rms_norm" apply to q and k.
 */
export class HeadProjection {
  private readonly linear: Linear;
  private readonly normWeight: Tensor | undefined;

  constructor(
    weights: WeightLookup,
    projection: string,
    normWeight: string | null,
    private readonly heads: number,
  ) {
    this.linear = Linear.load(weights, projection);
    this.normWeight = normWeight === null ? undefined : weights.get(normWeight);
  }

  apply(x: Tensor): Tensor {
    const flat = this.linear.apply(x);
    const [batch, tokens, width] = flat.shape as [number, number, number];
    const heads = flat.reshape([batch, tokens, this.heads, width / this.heads]);
    flat.release();
    if (this.normWeight) ops.rmsNorm(heads, { weight: this.normWeight, eps: QK_NORM_EPS, out: heads });
    return heads;
  }
}

/** [B, S, H, Dh] → [B, S, H·Dh] (a view; attention output is contiguous). */
export function mergeHeads(x: Tensor): Tensor {
  const [batch, tokens, heads, headDim] = x.shape as [number, number, number, number];
  return x.reshape([batch, tokens, heads * headDim]);
}
