/**
 * FluxSingleTransformerBlock (runtime.md §1.4 step 8): on the joint sequence h = [text; image],
 * ĥ = LN(h)·(1+scale)+shift; attention (q/k RMSNorm, RoPE, no output projection) and an MLP branch run
 * in parallel on ĥ; h += gate·proj_out(concat(attn, GELU(proj_mlp(ĥ)))).
 */
import { ops, type Tensor } from '../../native/index.js';
import { ModulationProjection, normModulate, releaseAll } from '../common/adaptive-norm.js';
import { type AttentionFn, HeadProjection, mergeHeads } from '../common/attention.js';
import type { TransformerBlock } from '../common/blocks.js';
import { Linear } from '../common/linear.js';
import { scoped, type WeightLookup } from '../common/weights.js';
import { type FluxState, jointStreams } from './state.js';

export class FluxSingleBlock implements TransformerBlock<FluxState> {
  readonly id: string;
  private readonly norm: ModulationProjection;
  private readonly q: HeadProjection;
  private readonly k: HeadProjection;
  private readonly v: HeadProjection;
  private readonly mlp: Linear;
  private readonly out: Linear;

  /** `single` is the index among single blocks; `index` the position in execution order. */
  constructor(
    weights: WeightLookup,
    single: number,
    readonly index: number,
    heads: number,
  ) {
    this.id = `single_transformer_blocks.${single}`;
    const w = scoped(weights, `${this.id}.`);
    // AdaLayerNormZeroSingle chunks: shift, scale, gate.
    this.norm = new ModulationProjection(w, 'norm.linear', 3);
    this.q = new HeadProjection(w, 'attn.to_q', 'attn.norm_q.weight', heads);
    this.k = new HeadProjection(w, 'attn.to_k', 'attn.norm_k.weight', heads);
    this.v = new HeadProjection(w, 'attn.to_v', null, heads);
    this.mlp = Linear.load(w, 'proj_mlp');
    this.out = Linear.load(w, 'proj_out');
  }

  async forward(state: FluxState, attention: AttentionFn): Promise<void> {
    const { joint, textTokens } = jointStreams(state);
    const [shift, scale, gate] = this.norm.apply(state.activatedTemb) as [Tensor, Tensor, Tensor];
    const normed = normModulate(joint, shift, scale);
    const mlp = this.mlp.apply(normed);
    ops.gelu(mlp, mlp);
    const q = this.q.apply(normed);
    const k = this.k.apply(normed);
    const v = this.v.apply(normed);
    normed.release();
    ops.rope(q, state.rope.cos, state.rope.sin, q);
    ops.rope(k, state.rope.cos, state.rope.sin, k);
    const attended = await attention(q, k, v, {
      block: this.index,
      kind: 'joint',
      textTokens,
      textPosition: 'front',
    });
    releaseAll([q, k, v]);
    const merged = mergeHeads(attended);
    attended.release();
    const both = ops.concat([merged, mlp], 2);
    releaseAll([merged, mlp]);
    const projected = this.out.apply(both);
    both.release();
    ops.gatedResidual(joint, gate, projected, joint);
    releaseAll([projected, shift, scale, gate]);
  }
}
