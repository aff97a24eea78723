import type { ModelFacts } from '../plan/index.js';
import type { TransformerWeights } from './weights.js';

/**
 * What the planner knows about a model: the facts the plan carries, plus the parts of the pipeline
 * outside the transformer that cost memory or time on every rank.
 */
export interface ModelSpec {
  /** Architecture name (a preset key) or a label for explicit facts, used in messages. */
  name: string;
  facts: ModelFacts;
  /**
   * Bytes of the text encoders (T5-XXL, CLIP) in bf16. Only the group leader (rank 0) holds them: it
   * encodes the prompts and broadcasts the embeddings (plan.pipeline.textEncoders = 'leader').
   */
  textEncoderBytes: number;
  /** Bytes of the VAE weights. */
  vaeBytes: number;
  /** Latent channels before patching (16 for Flux and SD3, 4 for PixArt). */
  latentChannels: number;
  /** Text tokens a cross-attention model attends to (PixArt: 300 T5 tokens); 0 for joint-attention models. */
  crossAttentionTokens: number;
  /** Steps the model is usually run with, the default for `tessera plan`. */
  defaultSteps: number;
  /**
   * Parameters per block, embedders and head, when the exact layout is known (presets of Flux, Diffusers
   * configs of Flux and SD3); otherwise the planner spreads `facts.parameters` over the blocks.
   */
  weights?: TransformerWeights;
}

/** Bytes per parameter of bf16 weights. */
export const BF16_BYTES = 2;
