import { type ArchitectureName, isArchitectureName, KNOWN_ARCHITECTURES } from './architectures.js';
import type { ModelSpec } from './model-spec.js';
import { fluxWeights } from './weights.js';

// Sizes of the parts outside the transformer, from the released checkpoints (refs/runtime.md §9):
// T5-XXL encoder 4.76e9 parameters ≈ 9.5 GB bf16, CLIP-L 0.25 GB, CLIP-G (OpenCLIP bigG) 1.4 GB,
// VAE ≈ 0.17 GB.
const T5_XXL_BYTES = 9.5e9;
const CLIP_L_BYTES = 0.25e9;
const CLIP_G_BYTES = 1.4e9;
const VAE_BYTES = 0.17e9;

/** FLUX.1's released transformer/config.json: 19 double + 38 single blocks, 24 heads × 128. */
const FLUX1_SHAPE = {
  doubleBlocks: 19,
  singleBlocks: 38,
  heads: 24,
  headDim: 128,
  inChannels: 64,
  jointAttentionDim: 4096,
  pooledProjectionDim: 768,
} as const;

/**
 * Presets keyed by architecture name. Layer and head counts are the released `transformer/config.json`
 * values (refs/runtime.md §1–3). Flux counts its 19 double and 38 single blocks together (57), as
 * PipeFusion splits them. Flux's patch size is 2 because the pipeline packs 2×2 latent pixels into one
 * token before the transformer (whose own config says 1).
 */
const PRESETS: Record<ArchitectureName, ModelSpec> = {
  'flux-dev': {
    name: 'flux-dev',
    facts: {
      family: 'flux',
      layers: 57,
      heads: 24,
      headDim: 128,
      patchSize: 2,
      vaeScaleFactor: 8,
      textTokens: 512,
      usesCfg: false,
      // Counted from the tensor shapes (refs/runtime.md §1.1).
      parameters: 11_901_408_320,
    },
    textEncoderBytes: T5_XXL_BYTES + CLIP_L_BYTES,
    vaeBytes: VAE_BYTES,
    latentChannels: 16,
    crossAttentionTokens: 0,
    defaultSteps: 28,
    weights: fluxWeights({ ...FLUX1_SHAPE, guidanceEmbeds: true }),
  },
  'flux-schnell': {
    name: 'flux-schnell',
    facts: {
      family: 'flux',
      layers: 57,
      heads: 24,
      headDim: 128,
      patchSize: 2,
      vaeScaleFactor: 8,
      // The schnell pipeline's max_sequence_length is 256.
      textTokens: 256,
      usesCfg: false,
      parameters: 11_891_178_560,
    },
    textEncoderBytes: T5_XXL_BYTES + CLIP_L_BYTES,
    vaeBytes: VAE_BYTES,
    latentChannels: 16,
    crossAttentionTokens: 0,
    defaultSteps: 4,
    weights: fluxWeights({ ...FLUX1_SHAPE, guidanceEmbeds: false }),
  },
  'sd3-medium': {
    name: 'sd3-medium',
    facts: {
      family: 'sd3',
      layers: 24,
      heads: 24,
      headDim: 64,
      patchSize: 2,
      vaeScaleFactor: 8,
      // 77 CLIP + 256 T5 tokens.
      textTokens: 333,
      usesCfg: true,
      // Model card: 2 billion parameters.
      parameters: 2.0e9,
    },
    textEncoderBytes: T5_XXL_BYTES + CLIP_L_BYTES + CLIP_G_BYTES,
    vaeBytes: VAE_BYTES,
    latentChannels: 16,
    crossAttentionTokens: 0,
    defaultSteps: 28,
  },
  'sd3.5-medium': {
    name: 'sd3.5-medium',
    facts: {
      family: 'sd3',
      layers: 24,
      heads: 24,
      headDim: 64,
      patchSize: 2,
      vaeScaleFactor: 8,
      textTokens: 333,
      usesCfg: true,
      // Model card: 2.5 billion parameters.
      parameters: 2.5e9,
    },
    textEncoderBytes: T5_XXL_BYTES + CLIP_L_BYTES + CLIP_G_BYTES,
    vaeBytes: VAE_BYTES,
    latentChannels: 16,
    crossAttentionTokens: 0,
    defaultSteps: 40,
  },
  'sd3.5-large': {
    name: 'sd3.5-large',
    facts: {
      family: 'sd3',
      layers: 38,
      heads: 38,
      headDim: 64,
      patchSize: 2,
      vaeScaleFactor: 8,
      textTokens: 333,
      usesCfg: true,
      // Model card: 8.1 billion parameters.
      parameters: 8.1e9,
    },
    textEncoderBytes: T5_XXL_BYTES + CLIP_L_BYTES + CLIP_G_BYTES,
    vaeBytes: VAE_BYTES,
    latentChannels: 16,
    crossAttentionTokens: 0,
    defaultSteps: 28,
  },
  'pixart-sigma': {
    name: 'pixart-sigma',
    facts: {
      family: 'pixart',
      layers: 28,
      heads: 16,
      headDim: 72,
      patchSize: 2,
      vaeScaleFactor: 8,
      textTokens: 0,
      usesCfg: true,
      // Model card: 0.6 billion parameters.
      parameters: 0.6e9,
    },
    textEncoderBytes: T5_XXL_BYTES,
    vaeBytes: VAE_BYTES,
    latentChannels: 4,
    // The Σ pipeline's max_sequence_length is 300.
    crossAttentionTokens: 300,
    defaultSteps: 20,
  },
};

/** The preset of `name`; throws naming the known presets when there is none. */
export function modelPreset(name: string): ModelSpec {
  if (!isArchitectureName(name)) {
    throw new Error(`unknown model preset '${name}': known presets are ${KNOWN_ARCHITECTURES.join(', ')}`);
  }
  const p = PRESETS[name];
  return { ...p, facts: { ...p.facts } };
}
