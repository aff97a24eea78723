/**
 * CLIP's text transformer (transformers CLIPTextModel / CLIPTextModelWithProjection): token + position
 * embeddings; pre-LN blocks of causal self-attention (scale 1/√head_dim) and an MLP (quick_gelu for
 * CLIP-L, exact gelu for CLIP-G); a final LayerNorm. The pooled output is the final state at the
 * end-of-text token (the first eos_token_id, or the largest id for legacy configs with eos_token_id 2);
 * the projection variant maps it through text_projection. SD3 also reads hidden_states[-2], the output of
 * the next-to-last block (no final norm).
 */
import { Linear } from '../../models/common/linear.js';
import { scoped, type WeightLookup } from '../../models/common/weights.js';
import { ops, pipelineOps, Tensor } from '../../native/index.js';
import type { ClipTextConfig } from './clip-config.js';
import { biasedAttention, embed, MASKED, TextEncoderInputError, toHeads } from './text-attention.js';

class ClipLayer {
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly out: Linear;
  private readonly fc1: Linear;
  private readonly fc2: Linear;
  private readonly norm1: { weight: Tensor; bias: Tensor };
  private readonly norm2: { weight: Tensor; bias: Tensor };

  constructor(
    weights: WeightLookup,
    private readonly config: ClipTextConfig,
  ) {
    this.q = Linear.load(weights, 'self_attn.q_proj');
    this.k = Linear.load(weights, 'self_attn.k_proj');
    this.v = Linear.load(weights, 'self_attn.v_proj');
    this.out = Linear.load(weights, 'self_attn.out_proj');
    this.fc1 = Linear.load(weights, 'mlp.fc1');
    this.fc2 = Linear.load(weights, 'mlp.fc2');
    this.norm1 = { weight: weights.get('layer_norm1.weight'), bias: weights.get('layer_norm1.bias') };
    this.norm2 = { weight: weights.get('layer_norm2.weight'), bias: weights.get('layer_norm2.bias') };
  }

  forward(x: Tensor, causal: Tensor): void {
    const { numHeads, hiddenSize, layerNormEps: eps } = this.config;
    const normed = ops.layerNorm(x, { ...this.norm1, eps });
    const q = toHeads(this.q.apply(normed), numHeads);
    const k = toHeads(this.k.apply(normed), numHeads);
    const v = toHeads(this.v.apply(normed), numHeads);
    normed.release();
    const context = biasedAttention(q, k, v, causal, 1 / Math.sqrt(hiddenSize / numHeads));
    const attended = this.out.apply(context);
    ops.add(x, attended, x);
    for (const t of [q, k, v, context, attended]) t.release();

    const mlpIn = ops.layerNorm(x, { ...this.norm2, eps });
    const hidden = this.fc1.apply(mlpIn);
    if (this.config.activation === 'quick_gelu') pipelineOps.quickGelu(hidden, hidden);
    else pipelineOps.geluErf(hidden, hidden);
    const mlpOut = this.fc2.apply(hidden);
    ops.add(x, mlpOut, x);
    for (const t of [mlpIn, hidden, mlpOut]) t.release();
  }
}

export interface ClipOutputs {
  /** [B, S, hidden] after the final LayerNorm. */
  lastHiddenState: Tensor;
  /** [B, hidden]: the final state at the end-of-text token. */
  pooled: Tensor;
  /** [B, projection_dim] (WithProjection only). */
  textEmbeds: Tensor | null;
  /** [B, S, hidden]: hidden_states[-2] when asked for. */
  penultimate: Tensor | null;
}

export class ClipTextModel {
  private readonly tokens: Tensor;
  private readonly positions: Tensor;
  private readonly layers: ClipLayer[];
  private readonly finalNorm: { weight: Tensor; bias: Tensor };
  private readonly projection: Linear | null;

  constructor(
    readonly config: ClipTextConfig,
    weights: WeightLookup,
  ) {
    this.tokens = weights.get('text_model.embeddings.token_embedding.weight');
    this.positions = weights.get('text_model.embeddings.position_embedding.weight');
    this.layers = Array.from(
      { length: config.numLayers },
      (_, i) => new ClipLayer(scoped(weights, `text_model.encoder.layers.${i}.`), config),
    );
    this.finalNorm = {
      weight: weights.get('text_model.final_layer_norm.weight'),
      bias: weights.get('text_model.final_layer_norm.bias'),
    };
    this.projection =
      config.className === 'CLIPTextModelWithProjection'
        ? Linear.load(weights, 'text_projection', false)
        : null;
  }

  /** Where each sequence's end-of-text token is, as transformers picks it. */
  eosPositions(ids: Int32Array, batch: number, seq: number): number[] {
    return Array.from({ length: batch }, (_, b) => {
      const row = ids.subarray(b * seq, (b + 1) * seq);
      let best = 0;
      for (let i = 1; i < seq; i++) {
        if (
          this.config.eosTokenId === 2
            ? (row[i] as number) > (row[best] as number)
            : row[best] !== this.config.eosTokenId && row[i] === this.config.eosTokenId
        )
          best = i;
      }
      return best;
    });
  }

  /** ids [B·S] row-major (no attention mask: Diffusers passes none to CLIP). */
  encode(ids: Int32Array, batch: number, seq: number, options: { penultimate?: boolean } = {}): ClipOutputs {
    if (seq > this.config.maxPositions) {
      throw new TextEncoderInputError(
        `CLIP text encoder: ${seq} tokens exceed max_position_embeddings ${this.config.maxPositions}`,
      );
    }
    const x = embed(this.tokens, ids, batch, seq, 'CLIP text encoder');
    const positions = this.positions.narrow(0, 0, seq);
    ops.add(x, positions, x);
    positions.release();
    const causal = new Float32Array(seq * seq);
    for (let q = 0; q < seq; q++) causal.fill(MASKED, q * seq + q + 1, (q + 1) * seq);
    const mask = Tensor.fromArray(causal, [1, 1, seq, seq]);
    let penultimate: Tensor | null = null;
    this.layers.forEach((layer, i) => {
      if (options.penultimate && i === this.layers.length - 1) penultimate = x.clone();
      layer.forward(x, mask);
    });
    mask.release();
    ops.layerNorm(x, { ...this.finalNorm, eps: this.config.layerNormEps, out: x });
    const pooledRows = this.eosPositions(ids, batch, seq).map((pos, b) =>
      x.narrow(0, b, 1).narrow(1, pos, 1),
    );
    const pooled = ops.concat(pooledRows, 0).reshape([batch, this.config.hiddenSize]);
    for (const r of pooledRows) r.release();
    const textEmbeds = this.projection ? this.projection.apply(pooled) : null;
    return { lastHiddenState: x, pooled, textEmbeds, penultimate };
  }
}
