import type { ModelFacts } from '../plan/index.js';

/**
 * What the planner knows about a model: the facts the plan carries, plus the parts of the pipeline
 * outside the transformer that cost memory or time on every rank.
 */
export interface ModelSpec {
  /** Architecture name (a preset key) or a label for explicit facts, used in messages. */
  name: string;
  facts: ModelFacts;
  /** Bytes of the text encoders (T5-XXL, CLIP) in bf16; every rank holds them, as in xDiT. */
  textEncoderBytes: number;
  /** Bytes of the VAE weights. */
  vaeBytes: number;
  /** Latent channels before patching (16 for Flux and SD3, 4 for PixArt). */
  latentChannels: number;
  /** Text tokens a cross-attention model attends to (PixArt: 300 T5 tokens); 0 for joint-attention models. */
  crossAttentionTokens: number;
  /** Steps the model is usually run with, the default for `tessera plan`. */
  defaultSteps: number;
}

/** Bytes per parameter of bf16 weights. */
export const BF16_BYTES = 2;
