/**
 * What a Diffusers pipeline does around its transformer, per family — FluxPipeline,
 * StableDiffusion3Pipeline, PixArtSigmaPipeline: which tokenizer and text-encoder folders it reads and
 * how it encodes prompts (prompts/), its defaults (steps, guidance, T5 length), when it needs the negative
 * prompt, and the latent shape its prepare_latents draws noise in. The transformer side of each family
 * is in families/; decoding is the same for all three (decode.ts).
 */
import { PIXART_SIGMA_CAPTION_TOKENS } from '../checkpoint/pixart-config.js';
import { packLatents, unpackLatents } from '../models/flux/packing.js';
import type { Tensor } from '../native/index.js';
import { encodeFluxPrompts, FLUX_TEXT } from './prompts/flux.js';
import { encodePixartPrompts, PIXART_TEXT } from './prompts/pixart.js';
import type { PromptRequest, PromptTensors, TextStack } from './prompts/prompt-encoder.js';
import { encodeSd3Prompts, SD3_TEXT } from './prompts/sd3.js';

export type PipelineFamilyName = 'flux' | 'sd3' | 'pixart';

/** The transformer facts the pipeline side reads. */
export interface PipelineTransformerFacts {
  inChannels: number;
  patchSize: number;
  /** FLUX: guidance-distilled dev (true) or schnell (false). */
  guidanceEmbeds?: boolean;
}

export interface PipelineFamily {
  family: PipelineFamilyName;
  pipelineClass: string;
  transformerClass: string;
  /** Diffusers' defaults of the transformer config keys the pipeline reads. */
  transformerDefaults: { inChannels: number; patchSize: number };
  /** Whether the transformer config's guidance_embeds matters (FLUX: dev has it, schnell not). */
  readsGuidanceEmbeds: boolean;
  text: { tokenizers: string[]; encoders: string[] };
  encode(stack: TextStack, request: PromptRequest): PromptTensors;
  defaultSteps(t: PipelineTransformerFacts): number;
  defaultGuidanceScale(t: PipelineTransformerFacts): number;
  defaultMaxSequenceLength(t: PipelineTransformerFacts): number;
  /** Whether a run at this guidance scale has an unconditional branch (needs the negative prompt). */
  usesNegativePrompt(guidanceScale: number): boolean;
  /** Image sides must be multiples of this many pixels. */
  sizeMultiple(t: PipelineTransformerFacts, vaeScale: number): number;
  /** prepare_latents' noise shape for `batch` images of height × width pixels. */
  latentShape(
    t: PipelineTransformerFacts,
    batch: number,
    height: number,
    width: number,
    vaeScale: number,
  ): number[];
  /**
   * The T5 length that gives a serving plan's text tokens (`plan.model.textTokens`: tokens joined to the
   * image sequence; 0 for cross-attention, where the pipeline's own length holds).
   */
  maxSequenceLengthFor(planTextTokens: number): number;
  /** Noise [B, C, h, w] in the layout a serving request carries its latents (FLUX: packed 2×2). */
  requestLatents(noise: Tensor): Tensor;
  /** A serving result back to [B, C, h, w] for the VAE; h, w in latent pixels. */
  imageLatents(latents: Tensor, latentHeight: number, latentWidth: number): Tensor;
}

const classicCfg = (scale: number): boolean => scale > 1;
const spatial = (latents: Tensor): Tensor => latents;
/** CLIP's 77 tokens that StableDiffusion3Pipeline puts before the T5 tokens. */
const SD3_CLIP_TOKENS = 77;

export const PIPELINE_FAMILIES: readonly PipelineFamily[] = [
  {
    family: 'flux',
    pipelineClass: 'FluxPipeline',
    transformerClass: 'FluxTransformer2DModel',
    transformerDefaults: { inChannels: 64, patchSize: 1 },
    readsGuidanceEmbeds: true,
    text: FLUX_TEXT,
    encode: encodeFluxPrompts,
    // FLUX.1-dev: 28 steps, guidance 3.5 as an embedding; schnell (no guidance embedding): 4 steps, 0.
    defaultSteps: (t) => (t.guidanceEmbeds === false ? 4 : 28),
    defaultGuidanceScale: (t) => (t.guidanceEmbeds === false ? 0 : 3.5),
    defaultMaxSequenceLength: (t) => (t.guidanceEmbeds === false ? 256 : 512),
    // Guidance-distilled: one branch whatever the scale (true CFG is not what FluxPipeline runs by default).
    usesNegativePrompt: () => false,
    sizeMultiple: (_t, vae) => vae * 2,
    // 2·(H // 16) latent rows: the 2×2 packing needs even sides; in_channels counts packed channels.
    latentShape: (t, batch, h, w, vae) => [
      batch,
      t.inChannels / 4,
      2 * Math.floor(h / (vae * 2)),
      2 * Math.floor(w / (vae * 2)),
    ],
    maxSequenceLengthFor: (tokens) => tokens,
    requestLatents: packLatents,
    imageLatents: unpackLatents,
  },
  {
    family: 'sd3',
    pipelineClass: 'StableDiffusion3Pipeline',
    transformerClass: 'SD3Transformer2DModel',
    transformerDefaults: { inChannels: 16, patchSize: 2 },
    readsGuidanceEmbeds: false,
    text: SD3_TEXT,
    encode: encodeSd3Prompts,
    defaultSteps: () => 28,
    defaultGuidanceScale: () => 7.0,
    defaultMaxSequenceLength: () => 256,
    usesNegativePrompt: classicCfg,
    sizeMultiple: (t, vae) => vae * t.patchSize,
    latentShape: (t, batch, h, w, vae) => [batch, t.inChannels, Math.floor(h / vae), Math.floor(w / vae)],
    maxSequenceLengthFor: (tokens) => tokens - SD3_CLIP_TOKENS,
    requestLatents: spatial,
    imageLatents: spatial,
  },
  {
    family: 'pixart',
    pipelineClass: 'PixArtSigmaPipeline',
    transformerClass: 'PixArtTransformer2DModel',
    transformerDefaults: { inChannels: 4, patchSize: 2 },
    readsGuidanceEmbeds: false,
    text: PIXART_TEXT,
    encode: encodePixartPrompts,
    defaultSteps: () => 20,
    defaultGuidanceScale: () => 4.5,
    defaultMaxSequenceLength: () => PIXART_SIGMA_CAPTION_TOKENS,
    usesNegativePrompt: classicCfg,
    sizeMultiple: (t, vae) => vae * t.patchSize,
    latentShape: (t, batch, h, w, vae) => [batch, t.inChannels, Math.floor(h / vae), Math.floor(w / vae)],
    // Cross-attention: the plan joins no text tokens; the caption is the pipeline's 300 T5 tokens.
    maxSequenceLengthFor: (tokens) => (tokens > 0 ? tokens : PIXART_SIGMA_CAPTION_TOKENS),
    requestLatents: spatial,
    imageLatents: spatial,
  },
];

export class PipelineFamilyError extends Error {
  override readonly name = 'PipelineFamilyError';
}

export function pipelineFamily(name: PipelineFamilyName): PipelineFamily {
  const found = PIPELINE_FAMILIES.find((f) => f.family === name);
  if (!found) throw new PipelineFamilyError(`no pipeline for ${name}`);
  return found;
}

export function pipelineFamilyOfClass(transformerClass: string): PipelineFamily {
  const found = PIPELINE_FAMILIES.find((f) => f.transformerClass === transformerClass);
  if (!found) {
    throw new PipelineFamilyError(
      `no prompt-to-image pipeline for ${transformerClass} (supported: ${PIPELINE_FAMILIES.map((f) => f.transformerClass).join(', ')})`,
    );
  }
  return found;
}
