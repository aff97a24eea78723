/**
 * FluxTransformerBlock (double stream, runtime.md §1.4 step 7): text and image keep their own weights and
 * meet in one joint attention over [text; image] with RoPE on q and k.
 */
import { ops, type Tensor } from '../../native/index.js';
import { ModulationProjection, normModulate, releaseAll } from '../common/adaptive-norm.js';
import { type AttentionFn, HeadProjection, mergeHeads } from '../common/attention.js';
import type { TransformerBlock } from '../common/blocks.js';
import { FeedForward } from '../common/feed-forward.js';
import { Linear } from '../common/linear.js';
import { scoped, type WeightLookup } from '../common/weights.js';
import type { FluxState } from './state.js';

/** One stream's weights: AdaLayerNormZero, q/k/v with RMSNorm, output projection, feed-forward. */
class StreamWeights {
  readonly norm: ModulationProjection;
  readonly q: HeadProjection;
  readonly k: HeadProjection;
  readonly v: HeadProjection;
  readonly out: Linear;
  readonly ff: FeedForward;

  constructor(w: WeightLookup, heads: number, stream: 'image' | 'text') {
    const image = stream === 'image';
    this.norm = new ModulationProjection(w, image ? 'norm1.linear' : 'norm1_context.linear', 6);
    const [q, k, v] = image ? ['to_q', 'to_k', 'to_v'] : ['add_q_proj', 'add_k_proj', 'add_v_proj'];
    const [nq, nk] = image ? ['norm_q', 'norm_k'] : ['norm_added_q', 'norm_added_k'];
    this.q = new HeadProjection(w, `attn.${q}`, `attn.${nq}.weight`, heads);
    this.k = new HeadProjection(w, `attn.${k}`, `attn.${nk}.weight`, heads);
    this.v = new HeadProjection(w, `attn.${v}`, null, heads);
    this.out = Linear.load(w, image ? 'attn.to_out.0' : 'attn.to_add_out');
    this.ff = new FeedForward(w, image ? 'ff' : 'ff_context');
  }
}

export class FluxDoubleBlock implements TransformerBlock<FluxState> {
  readonly id: string;
  private readonly image: StreamWeights;
  private readonly text: StreamWeights;

  constructor(
    weights: WeightLookup,
    readonly index: number,
    heads: number,
  ) {
    this.id = `transformer_blocks.${index}`;
    const w = scoped(weights, `${this.id}.`);
    this.image = new StreamWeights(w, heads, 'image');
    this.text = new StreamWeights(w, heads, 'text');
  }

  async forward(state: FluxState, attention: AttentionFn): Promise<void> {
    const { streams } = state;
    if (streams.kind !== 'separate') {
      throw new Error(`${this.id}: double-stream block reached after the streams were joined`);
    }
    const { text, image } = streams;
    // AdaLayerNormZero chunks: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp.
    const im = this.image.norm.apply(state.activatedTemb) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const tm = this.text.norm.apply(state.activatedTemb) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const imageIn = normModulate(image, im[0], im[1]);
    const textIn = normModulate(text, tm[0], tm[1]);

    const joined = (project: (s: StreamWeights) => HeadProjection): Tensor => {
      const t = project(this.text).apply(textIn);
      const i = project(this.image).apply(imageIn);
      const joint = ops.concat([t, i], 1);
      releaseAll([t, i]);
      return joint;
    };
    const q = joined((s) => s.q);
    const k = joined((s) => s.k);
    const v = joined((s) => s.v);
    releaseAll([imageIn, textIn]);
    ops.rope(q, state.rope.cos, state.rope.sin, q);
    ops.rope(k, state.rope.cos, state.rope.sin, k);
    const textTokens = text.size(1);
    const attended = await attention(q, k, v, {
      block: this.index,
      kind: 'joint',
      textTokens,
      textPosition: 'front',
    });
    releaseAll([q, k, v]);
    const merged = mergeHeads(attended);
    attended.release();
    const [textAttn, imageAttn] = merged.split([textTokens, merged.size(1) - textTokens], 1) as [
      Tensor,
      Tensor,
    ];
    merged.release();

    this.finishStream(image, this.image, imageAttn, im);
    this.finishStream(text, this.text, textAttn, tm);
    releaseAll([textAttn, imageAttn, ...im, ...tm]);
  }

  /** x += gate_msa·out(attn); x += gate_mlp·FF(LN(x)·(1+scale_mlp)+shift_mlp), all in place on x. */
  private finishStream(x: Tensor, weights: StreamWeights, attn: Tensor, m: Tensor[]): void {
    const [, , gateMsa, shiftMlp, scaleMlp, gateMlp] = m as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const projected = weights.out.apply(attn);
    ops.gatedResidual(x, gateMsa, projected, x);
    projected.release();
    const ffIn = normModulate(x, shiftMlp, scaleMlp);
    const ffOut = weights.ff.apply(ffIn);
    ops.gatedResidual(x, gateMlp, ffOut, x);
    releaseAll([ffIn, ffOut]);
  }
}
