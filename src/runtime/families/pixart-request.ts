/**
 * One request on a PixArtTransformer2DModel (PixArt-Σ): latents [B, C, H, W] cut into patch tokens in
 * row-major order; classifier-free guidance over [uncond; cond] when the scale exceeds 1 (negative
 * embeddings required), each branch with its caption's attention mask; the model timestep is the
 * scheduler's integer t as it is. Text is not joined to the image sequence: sequence parallelism shards
 * image tokens only and every rank keeps the whole caption (cross-attention keys and values replicated).
 * The head returns the first in_channels output channels: the learned variance in the others is dropped,
 * as PixArtSigmaPipeline does after guidance (guidance is per element, so dropping first is the same).
 */
import type { PixartTransformerConfig } from '../checkpoint/pixart-config.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import { sampleTensor } from '../denoise/inputs.js';
import { type PixartState, releaseState } from '../models/pixart/state.js';
import { keptTokens, type PixartInputs, type PixartTransformer } from '../models/pixart/transformer.js';
import type { Tensor } from '../native/index.js';
import { tokenSlice } from '../parallel/sequence-shard.js';
import { cfgBranches } from './cfg-branches.js';
import type { Conditioning, FamilyRequest, GuidanceMode } from './family.js';
import { patchGridGeometry } from './patch-grid.js';
import { perSample, replace } from './state-cuts.js';

export const PIXART_FIELDS = {
  prompt: 'promptEmbeds',
  mask: 'promptAttentionMask',
  negative: 'negativePromptEmbeds',
  negativeMask: 'negativePromptAttentionMask',
} as const;

function guidanceOf(
  inputs: DenoiseInputs,
  guidanceScale: number,
): { guidance: GuidanceMode; branches: Conditioning[] } {
  const mask = inputs.samples[PIXART_FIELDS.mask];
  const cond: Conditioning = {
    [PIXART_FIELDS.prompt]: sampleTensor(inputs, PIXART_FIELDS.prompt, 'the T5 text embeddings'),
    ...(mask ? { [PIXART_FIELDS.mask]: mask } : {}),
  };
  return cfgBranches(guidanceScale, cond, () => {
    const negative = inputs.samples[PIXART_FIELDS.negative];
    if (!negative) {
      throw new Error(
        `guidance scale ${guidanceScale} > 1 runs classifier-free guidance: give negative_prompt_embeds (the encoded negative prompt, "" by default) or use a scale ≤ 1`,
      );
    }
    const negativeMask = inputs.samples[PIXART_FIELDS.negativeMask];
    return {
      [PIXART_FIELDS.prompt]: negative,
      ...(negativeMask ? { [PIXART_FIELDS.mask]: negativeMask } : {}),
    };
  });
}

/** The model output without its learned-variance channels. */
function noisePrediction(out: Tensor, channels: number): Tensor {
  if (out.size(1) === channels) return out;
  const view = out.narrow(1, 0, channels);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  out.release();
  return dense;
}

export function pixartRequest(
  model: PixartTransformer,
  config: PixartTransformerConfig,
  inputs: DenoiseInputs,
  guidanceScale: number,
): FamilyRequest<PixartState> {
  const { latents } = inputs;
  const { guidance, branches } = guidanceOf(inputs, guidanceScale);
  const textTokens = sampleTensor(inputs, PIXART_FIELDS.prompt, 'the T5 text embeddings').size(1);
  const width = config.numAttentionHeads * config.attentionHeadDim;
  const geometry = patchGridGeometry(latents, config.patchSize, 0, 'PixArt');
  const { cols } = geometry;
  // The tokens each mask keeps, read once per request (on a GPU a read is a copy from the device). A
  // PipeFusion stage takes them from the conditioning too instead of receiving them with each patch.
  const kept = new Map<Tensor, number[][] | null>();
  const captionTokensOf = (mask: Tensor | null) => {
    if (!mask) return null;
    let tokens = kept.get(mask);
    if (tokens === undefined) {
      tokens = keptTokens(mask);
      kept.set(mask, tokens);
    }
    return tokens;
  };
  const forwardInputs = (x: Tensor, c: Conditioning, t: number): PixartInputs => {
    const text = c[PIXART_FIELDS.prompt];
    if (!text) throw new Error('PixArt conditioning has no promptEmbeds');
    const mask = c[PIXART_FIELDS.mask] ?? null;
    return {
      hiddenStates: x,
      encoderHiddenStates: text,
      encoderAttentionMask: mask,
      captionTokens: captionTokensOf(mask),
      timestep: perSample(x.size(0), t),
    };
  };
  return {
    batch: latents.size(0),
    geometry,
    guidance,
    branches,
    modelTimestep: (t) => t,
    forward: async (x, c, t, attention) =>
      noisePrediction(await model.forward(forwardInputs(x, c, t), { attention }), config.inChannels),
    embed: (x, c, t) => model.embed(forwardInputs(x, c, t)),
    select(state, image, keptRows) {
      state.image = replace(state.image, tokenSlice(state.image, image.start, image.end));
      state.rows = keptRows;
    },
    runBlocks: (state, range, attention) => model.runBlocks(state, range, attention),
    head: (state) => noisePrediction(model.head(state), config.inChannels),
    pack: (state) => [state.modulation, state.embeddedTimestep, state.image, state.caption],
    stateParts: (batch, n) => [
      { shape: [batch, 6 * width] },
      { shape: [batch, width] },
      { shape: [batch, n, width] },
      { shape: [batch, textTokens, width] },
    ],
    unpack(parts, _fromBlock, keptRows, conditioning) {
      const [modulation, embeddedTimestep, image, caption] = parts as [Tensor, Tensor, Tensor, Tensor];
      const captionTokens = captionTokensOf(conditioning[PIXART_FIELDS.mask] ?? null);
      return { modulation, embeddedTimestep, image, caption, captionTokens, rows: keptRows, cols };
    },
    release: releaseState,
  };
}
