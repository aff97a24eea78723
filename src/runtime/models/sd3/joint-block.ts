/**
 * JointTransformerBlock of SD3 / SD3.5 (runtime.md §2 step 4). Joint attention runs over [image; text]
 * (image FIRST, unlike Flux), without RoPE, with RMSNorm on q/k when qk_norm is "rms_norm".
 * Dual-attention blocks (SD3.5) modulate with 9 chunks and add a second, image-only attention.
 * The last block is context_pre_only: its text side is projected into the attention and then dropped.
 */
import type { Sd3TransformerConfig } from '../../checkpoint/sd3-config.js';
import { ops, type Tensor } from '../../native/index.js';
import {
  AdaLayerNormContinuous,
  ModulationProjection,
  normModulate,
  releaseAll,
} from '../common/adaptive-norm.js';
import { type AttentionFn, HeadProjection, mergeHeads } from '../common/attention.js';
import type { TransformerBlock } from '../common/blocks.js';
import { FeedForward } from '../common/feed-forward.js';
import { Linear } from '../common/linear.js';
import { scoped, type WeightLookup } from '../common/weights.js';
import type { Sd3State } from './state.js';

interface Qkv {
  q: HeadProjection;
  k: HeadProjection;
  v: HeadProjection;
}

function qkv(
  w: WeightLookup,
  names: [string, string, string],
  norms: [string, string] | null,
  heads: number,
): Qkv {
  return {
    q: new HeadProjection(w, names[0], norms ? norms[0] : null, heads),
    k: new HeadProjection(w, names[1], norms ? norms[1] : null, heads),
    v: new HeadProjection(w, names[2], null, heads),
  };
}

/** The text side of a block that keeps the text stream (every block but the last). */
class TextStream {
  readonly norm: ModulationProjection;
  readonly out: Linear;
  readonly ff: FeedForward;
  constructor(w: WeightLookup) {
    this.norm = new ModulationProjection(w, 'norm1_context.linear', 6);
    this.out = Linear.load(w, 'attn.to_add_out');
    this.ff = new FeedForward(w, 'ff_context');
  }
}

/** SD3.5's second attention: plain self-attention over the image tokens. */
class ImageAttention {
  readonly proj: Qkv;
  readonly out: Linear;
  constructor(w: WeightLookup, qkNorm: boolean, heads: number) {
    this.proj = qkv(
      w,
      ['attn2.to_q', 'attn2.to_k', 'attn2.to_v'],
      qkNorm ? ['attn2.norm_q.weight', 'attn2.norm_k.weight'] : null,
      heads,
    );
    this.out = Linear.load(w, 'attn2.to_out.0');
  }
}

export class Sd3JointBlock implements TransformerBlock<Sd3State> {
  readonly id: string;
  private readonly norm: ModulationProjection;
  private readonly image: Qkv;
  private readonly text: Qkv;
  private readonly imageOut: Linear;
  private readonly ff: FeedForward;
  /** Every block but the last. */
  private readonly textStream: TextStream | null;
  /** The last block's text norm (AdaLayerNormContinuous: scale, shift). */
  private readonly textPreOnlyNorm: AdaLayerNormContinuous | null;
  private readonly second: ImageAttention | null;

  constructor(
    weights: WeightLookup,
    readonly index: number,
    config: Sd3TransformerConfig,
  ) {
    this.id = `transformer_blocks.${index}`;
    const w = scoped(weights, `${this.id}.`);
    const heads = config.numAttentionHeads;
    const qkNorm = config.qkNorm === 'rms_norm';
    const dual = config.dualAttentionLayers.includes(index);
    const contextPreOnly = index === config.numLayers - 1;
    // AdaLayerNormZero: 6 chunks; SD35AdaLayerNormZeroX: the same 6, then shift_msa2, scale_msa2, gate_msa2.
    this.norm = new ModulationProjection(w, 'norm1.linear', dual ? 9 : 6);
    this.image = qkv(
      w,
      ['attn.to_q', 'attn.to_k', 'attn.to_v'],
      qkNorm ? ['attn.norm_q.weight', 'attn.norm_k.weight'] : null,
      heads,
    );
    this.text = qkv(
      w,
      ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
      qkNorm ? ['attn.norm_added_q.weight', 'attn.norm_added_k.weight'] : null,
      heads,
    );
    this.imageOut = Linear.load(w, 'attn.to_out.0');
    this.ff = new FeedForward(w, 'ff');
    this.textStream = contextPreOnly ? null : new TextStream(w);
    this.textPreOnlyNorm = contextPreOnly ? new AdaLayerNormContinuous(w, 'norm1_context') : null;
    this.second = dual ? new ImageAttention(w, qkNorm, heads) : null;
  }

  async forward(state: Sd3State, attention: AttentionFn): Promise<void> {
    const { image, text } = state;
    if (!text)
      throw new Error(`${this.id}: the text stream was already dropped by an earlier context_pre_only block`);
    const m = this.norm.apply(state.activatedTemb);
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = m as [
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
    ];
    const imageIn = normModulate(image, shiftMsa, scaleMsa);
    // The second attention reads LN(x) modulated with the msa2 chunks, taken from x before any update.
    const imageIn2 = this.second ? normModulate(image, m[6] as Tensor, m[7] as Tensor) : null;

    let tm: Tensor[] = [];
    let textIn: Tensor;
    if (this.textStream) {
      tm = this.textStream.norm.apply(state.activatedTemb);
      textIn = normModulate(text, tm[0] as Tensor, tm[1] as Tensor);
    } else {
      textIn = (this.textPreOnlyNorm as AdaLayerNormContinuous).apply(text, state.activatedTemb);
    }

    const joined = (pick: (p: Qkv) => HeadProjection): Tensor => {
      const i = pick(this.image).apply(imageIn);
      const t = pick(this.text).apply(textIn);
      const joint = ops.concat([i, t], 1);
      releaseAll([i, t]);
      return joint;
    };
    const q = joined((p) => p.q);
    const k = joined((p) => p.k);
    const v = joined((p) => p.v);
    releaseAll([imageIn, textIn]);
    const imageTokens = image.size(1);
    const textTokens = text.size(1);
    const attended = await attention(q, k, v, {
      block: this.index,
      kind: 'joint',
      textTokens,
      textPosition: 'rear',
    });
    releaseAll([q, k, v]);
    const merged = mergeHeads(attended);
    attended.release();
    const [imageAttn, textAttn] = merged.split([imageTokens, textTokens], 1) as [Tensor, Tensor];
    merged.release();

    const projected = this.imageOut.apply(imageAttn);
    ops.gatedResidual(image, gateMsa, projected, image);
    releaseAll([projected, imageAttn]);

    if (this.second && imageIn2) {
      const { proj, out } = this.second;
      const q2 = proj.q.apply(imageIn2);
      const k2 = proj.k.apply(imageIn2);
      const v2 = proj.v.apply(imageIn2);
      imageIn2.release();
      const a2 = await attention(q2, k2, v2, {
        block: this.index,
        kind: 'image',
        textTokens: 0,
        textPosition: 'none',
      });
      releaseAll([q2, k2, v2]);
      const merged2 = mergeHeads(a2);
      a2.release();
      const projected2 = out.apply(merged2);
      ops.gatedResidual(image, m[8] as Tensor, projected2, image);
      releaseAll([merged2, projected2]);
    }

    const ffIn = normModulate(image, shiftMlp, scaleMlp);
    const ffOut = this.ff.apply(ffIn);
    ops.gatedResidual(image, gateMlp, ffOut, image);
    releaseAll([ffIn, ffOut, ...m]);

    if (this.textStream) {
      const [, , cGateMsa, cShiftMlp, cScaleMlp, cGateMlp] = tm as [
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
      ];
      const textProjected = this.textStream.out.apply(textAttn);
      ops.gatedResidual(text, cGateMsa, textProjected, text);
      textProjected.release();
      const cIn = normModulate(text, cShiftMlp, cScaleMlp);
      const cOut = this.textStream.ff.apply(cIn);
      ops.gatedResidual(text, cGateMlp, cOut, text);
      releaseAll([cIn, cOut, ...tm]);
    } else {
      text.release();
      state.text = null;
    }
    textAttn.release();
  }
}
