/**
 * T5 v1.1's encoder stack (transformers T5EncoderModel): embedding (no scaling); per block a pre-norm
 * self-attention without 1/√d scaling whose scores get the relative position bias (computed once from
 * block 0's table, shared by every block) and the padding mask, then a gated-GELU feed-forward
 * (gelu_new(wi_0·x) ⊙ wi_1·x → wo); T5's RMS norm (no mean, no bias) everywhere; a final norm.
 * FLUX and SD3 run it without a mask (padding tokens attend and are attended); PixArt-Σ with the mask.
 */
import { Linear } from '../../models/common/linear.js';
import { scoped, type WeightLookup } from '../../models/common/weights.js';
import { ops, Tensor } from '../../native/index.js';
import { T5_EMBEDDING, type T5EncoderConfig } from './t5-config.js';
import { biasedAttention, embed, MASKED, toHeads } from './text-attention.js';

/**
 * transformers' bidirectional relative position bucket of (key − query): half the buckets for keys after
 * the query; within a half, exact buckets below max_exact = buckets/4, then logarithmic up to
 * max_distance. The log is evaluated in float32 as torch does, so the buckets at the boundaries agree.
 */
export function relativeBucket(relative: number, numBuckets: number, maxDistance: number): number {
  const half = Math.floor(numBuckets / 2);
  const maxExact = Math.floor(half / 2);
  const base = relative > 0 ? half : 0;
  const n = Math.abs(relative);
  if (n < maxExact) return base + n;
  const f = Math.fround;
  const scaled = f(f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact))) * (half - maxExact));
  return base + Math.min(maxExact + Math.trunc(scaled), half - 1);
}

class T5Block {
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly o: Linear;
  private readonly attentionNorm: Tensor;
  private readonly wi0: Linear;
  private readonly wi1: Linear;
  private readonly wo: Linear;
  private readonly ffNorm: Tensor;

  constructor(
    weights: WeightLookup,
    private readonly config: T5EncoderConfig,
  ) {
    const attention = scoped(weights, 'layer.0.SelfAttention.');
    this.q = Linear.load(attention, 'q', false);
    this.k = Linear.load(attention, 'k', false);
    this.v = Linear.load(attention, 'v', false);
    this.o = Linear.load(attention, 'o', false);
    this.attentionNorm = weights.get('layer.0.layer_norm.weight');
    const ff = scoped(weights, 'layer.1.DenseReluDense.');
    this.wi0 = Linear.load(ff, 'wi_0', false);
    this.wi1 = Linear.load(ff, 'wi_1', false);
    this.wo = Linear.load(ff, 'wo', false);
    this.ffNorm = weights.get('layer.1.layer_norm.weight');
  }

  forward(h: Tensor, bias: Tensor): void {
    const { numHeads, layerNormEps: eps } = this.config;
    const normed = ops.rmsNorm(h, { weight: this.attentionNorm, eps });
    const q = toHeads(this.q.apply(normed), numHeads);
    const k = toHeads(this.k.apply(normed), numHeads);
    const v = toHeads(this.v.apply(normed), numHeads);
    normed.release();
    const context = biasedAttention(q, k, v, bias, 1);
    const attended = this.o.apply(context);
    ops.add(h, attended, h);
    for (const t of [q, k, v, context, attended]) t.release();

    const ffIn = ops.rmsNorm(h, { weight: this.ffNorm, eps });
    const gate = this.wi0.apply(ffIn);
    ops.gelu(gate, gate);
    const linear = this.wi1.apply(ffIn);
    ops.mul(gate, linear, gate);
    const ffOut = this.wo.apply(gate);
    ops.add(h, ffOut, h);
    for (const t of [ffIn, gate, linear, ffOut]) t.release();
  }
}

export class T5Encoder {
  private readonly embedding: Tensor;
  private readonly biasTable: Float32Array;
  private readonly blocks: T5Block[];
  private readonly finalNorm: Tensor;

  constructor(
    readonly config: T5EncoderConfig,
    weights: WeightLookup,
  ) {
    this.embedding = weights.get(T5_EMBEDDING);
    this.biasTable = weights
      .get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')
      .toFloat32Array();
    this.blocks = Array.from(
      { length: config.numLayers },
      (_, i) => new T5Block(scoped(weights, `encoder.block.${i}.`), config),
    );
    this.finalNorm = weights.get('encoder.final_layer_norm.weight');
  }

  /** [1, H, S, S]: bias[h, q, k] = table[bucket(k − q), h]. */
  positionBias(seq: number): Tensor {
    const { numHeads, relativeBuckets, relativeMaxDistance } = this.config;
    const out = new Float32Array(numHeads * seq * seq);
    const buckets = new Int32Array(2 * seq - 1);
    for (let r = -(seq - 1); r < seq; r++)
      buckets[r + seq - 1] = relativeBucket(r, relativeBuckets, relativeMaxDistance);
    for (let h = 0; h < numHeads; h++) {
      for (let q = 0; q < seq; q++) {
        const row = (h * seq + q) * seq;
        for (let k = 0; k < seq; k++)
          out[row + k] = this.biasTable[(buckets[k - q + seq - 1] as number) * numHeads + h] as number;
      }
    }
    return Tensor.fromArray(out, [1, numHeads, seq, seq]);
  }

  /**
   * ids [B·S] row-major → last_hidden_state [B, S, d_model]. `mask` (1 = token, 0 = padding), when given,
   * keeps padding keys out of every query's attention, as transformers does with an attention_mask.
   */
  encode(ids: Int32Array, batch: number, seq: number, mask?: Uint8Array): Tensor {
    const h = embed(this.embedding, ids, batch, seq, 'T5 encoder');
    let bias = this.positionBias(seq);
    if (mask) {
      const additive = Float32Array.from(mask, (m) => (m ? 0 : MASKED));
      const withMask = ops.add(bias, Tensor.fromArray(additive, [batch, 1, 1, seq]));
      bias.release();
      bias = withMask;
    }
    for (const block of this.blocks) block.forward(h, bias);
    bias.release();
    ops.rmsNorm(h, { weight: this.finalNorm, eps: this.config.layerNormEps, out: h });
    return h;
  }
}
