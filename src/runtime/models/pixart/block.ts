/**
 * One PixArt block (diffusers BasicTransformerBlock with norm_type "ada_norm_single"): six modulation
 * vectors = scale_shift_table + the block's slice of t6 (shift, scale, gate for attention, then for the
 * MLP); x += gate_msa · SelfAttention(LN(x)·(1 + scale_msa) + shift_msa); x += CrossAttention(x, caption)
 * with no norm before it and the caption's padding masked out; x += gate_mlp · FF(LN(x)·(1 + scale_mlp) +
 * shift_mlp), FF = Linear → GELU(tanh) → Linear.
 *
 * Self-attention goes through the AttentionFn (sequence parallelism and PipeFusion wrap it; image tokens
 * only). Cross-attention runs here on every rank over the whole caption, which each rank holds: its keys
 * and values are replicated, not sharded. A padded caption token has −10000 added to its scores in
 * diffusers, which makes its softmax weight exactly 0 in float32, so attending only to the kept tokens is
 * the same computation.
 */

import type { PixartTransformerConfig } from '../../checkpoint/pixart-config.js';
import { ops, type Tensor } from '../../native/index.js';
import { normModulate, releaseAll } from '../common/adaptive-norm.js';
import { type AttentionFn, HeadProjection, mergeHeads } from '../common/attention.js';
import type { TransformerBlock } from '../common/blocks.js';
import { FeedForward } from '../common/feed-forward.js';
import { Linear } from '../common/linear.js';
import { scoped, type WeightLookup } from '../common/weights.js';
import type { PixartState } from './state.js';

/** shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp. */
type SixVectors = [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];

export class PixartBlock implements TransformerBlock<PixartState> {
  readonly id: string;
  private readonly table: Tensor;
  private readonly selfQ: HeadProjection;
  private readonly selfK: HeadProjection;
  private readonly selfV: HeadProjection;
  private readonly selfOut: Linear;
  private readonly crossQ: HeadProjection;
  private readonly crossK: HeadProjection;
  private readonly crossV: HeadProjection;
  private readonly crossOut: Linear;
  private readonly ff: FeedForward;

  constructor(
    weights: WeightLookup,
    readonly index: number,
    config: PixartTransformerConfig,
  ) {
    this.id = `transformer_blocks.${index}`;
    const w = scoped(weights, `${this.id}.`);
    const heads = config.numAttentionHeads;
    const projection = (name: string) => new HeadProjection(w, name, null, heads);
    this.table = w.get('scale_shift_table');
    this.selfQ = projection('attn1.to_q');
    this.selfK = projection('attn1.to_k');
    this.selfV = projection('attn1.to_v');
    this.selfOut = Linear.load(w, 'attn1.to_out.0');
    this.crossQ = projection('attn2.to_q');
    this.crossK = projection('attn2.to_k');
    this.crossV = projection('attn2.to_v');
    this.crossOut = Linear.load(w, 'attn2.to_out.0');
    this.ff = new FeedForward(w, 'ff');
  }

  /** [B, 6, D] → six [B, D] vectors: table + t6. */
  private modulation(t6: Tensor): SixVectors {
    const [batch, all] = t6.shape as [number, number];
    const width = all / 6;
    const shaped = t6.reshape([batch, 6, width]);
    const sum = ops.add(shaped, this.table);
    shaped.release();
    const chunk = (k: number) => sum.narrow(1, k, 1).reshape([batch, width]);
    const six: SixVectors = [chunk(0), chunk(1), chunk(2), chunk(3), chunk(4), chunk(5)];
    sum.release();
    return six;
  }

  async forward(state: PixartState, attention: AttentionFn): Promise<void> {
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = this.modulation(state.modulation);
    const x = state.image;
    const normed = normModulate(x, shiftMsa, scaleMsa);
    const q = this.selfQ.apply(normed);
    const k = this.selfK.apply(normed);
    const v = this.selfV.apply(normed);
    normed.release();
    const site = { block: this.index, kind: 'image' as const, textTokens: 0, textPosition: 'none' as const };
    const attended = await attention(q, k, v, site);
    const selfOut = this.selfOut.apply(mergeHeads(attended));
    ops.gatedResidual(x, gateMsa, selfOut, x);
    releaseAll([q, k, v, attended, selfOut]);

    const crossOut = this.crossAttention(x, state);
    ops.add(x, crossOut, x);
    crossOut.release();

    const ffIn = normModulate(x, shiftMlp, scaleMlp);
    const ffOut = this.ff.apply(ffIn);
    ops.gatedResidual(x, gateMlp, ffOut, x);
    releaseAll([ffIn, ffOut, shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp]);
  }

  private crossAttention(x: Tensor, state: PixartState): Tensor {
    const q = this.crossQ.apply(x);
    const k = this.crossK.apply(state.caption);
    const v = this.crossV.apply(state.caption);
    const kept = state.captionTokens;
    let attended: Tensor;
    if (kept === null) {
      attended = ops.attention(q, k, v);
    } else {
      const rows = kept.map((tokens, b) => {
        const one = (t: Tensor) => t.narrow(0, b, 1);
        const qb = one(q);
        const kb = keepTokens(one(k), tokens);
        const vb = keepTokens(one(v), tokens);
        const out = ops.attention(qb, kb, vb);
        releaseAll([qb, kb, vb]);
        return out;
      });
      attended = ops.concat(rows, 0);
      releaseAll(rows);
    }
    const out = this.crossOut.apply(mergeHeads(attended));
    releaseAll([q, k, v, attended]);
    return out;
  }
}

/** x [1, S, H, Dh] restricted to the token indices kept (a contiguous prefix in practice: right padding). */
function keepTokens(x: Tensor, tokens: readonly number[]): Tensor {
  const n = tokens.length;
  if (n === x.size(1)) return x;
  if (tokens.every((t, i) => t === i)) {
    const prefix = x.narrow(1, 0, n);
    x.release();
    return prefix;
  }
  const parts = tokens.map((t) => x.narrow(1, t, 1));
  const joined = ops.concat(parts, 1);
  releaseAll([...parts, x]);
  return joined;
}
