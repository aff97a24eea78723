/**
 * One request on an SD3Transformer2DModel (SD3, SD3.5): latents [B, C, H, W] cut into patch tokens in
 * row-major order, true classifier-free guidance over [uncond; cond] when the scale exceeds 1 (negative
 * embeddings required), the model timestep is the schedule's t as it is, and joint attention over
 * [image; text] without rotary tables; the head unpatchifies the rows of patches it holds.
 */
import type { Sd3TransformerConfig } from '../checkpoint/sd3-config.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import { sampleTensor } from '../denoise/inputs.js';
import { releaseState, type Sd3State } from '../models/sd3/state.js';
import type { Sd3Inputs, Sd3Transformer } from '../models/sd3/transformer.js';
import type { Tensor } from '../native/index.js';
import { tokenSlice } from '../parallel/sequence-shard.js';
import { cfgBranches } from './cfg-branches.js';
import type { Conditioning, FamilyRequest, GuidanceMode } from './family.js';
import { patchGridGeometry } from './patch-grid.js';
import { perSample, replace } from './state-cuts.js';

export const SD3_FIELDS = {
  prompt: 'promptEmbeds',
  pooled: 'pooledPromptEmbeds',
  negative: 'negativePromptEmbeds',
  negativePooled: 'negativePooledPromptEmbeds',
} as const;

function conditioningTensor(c: Conditioning, name: string): Tensor {
  const t = c[name];
  if (!t) throw new Error(`SD3 conditioning has no ${name}`);
  return t;
}

/** [cond], or [uncond, cond] when the scale runs classifier-free guidance. */
function guidanceOf(
  inputs: DenoiseInputs,
  guidanceScale: number,
): { guidance: GuidanceMode; branches: Conditioning[] } {
  const cond = {
    [SD3_FIELDS.prompt]: sampleTensor(inputs, SD3_FIELDS.prompt, 'the text embeddings'),
    [SD3_FIELDS.pooled]: sampleTensor(inputs, SD3_FIELDS.pooled, 'the pooled text embedding'),
  };
  return cfgBranches(guidanceScale, cond, () => {
    const negative = inputs.samples[SD3_FIELDS.negative];
    const negativePooled = inputs.samples[SD3_FIELDS.negativePooled];
    if (!negative || !negativePooled) {
      throw new Error(
        `guidance scale ${guidanceScale} > 1 runs classifier-free guidance: give negative_prompt_embeds and negative_pooled_prompt_embeds (or use a scale ≤ 1)`,
      );
    }
    return { [SD3_FIELDS.prompt]: negative, [SD3_FIELDS.pooled]: negativePooled };
  });
}

export function sd3Request(
  model: Sd3Transformer,
  config: Sd3TransformerConfig,
  inputs: DenoiseInputs,
  guidanceScale: number,
): FamilyRequest<Sd3State> {
  const { latents } = inputs;
  const { guidance, branches } = guidanceOf(inputs, guidanceScale);
  const textTokens = sampleTensor(inputs, SD3_FIELDS.prompt, 'the text embeddings').size(1);
  const width = config.numAttentionHeads * config.attentionHeadDim;
  const geometry = patchGridGeometry(latents, config.patchSize, textTokens, 'SD3');
  const { cols } = geometry;
  const forwardInputs = (x: Tensor, c: Conditioning, t: number): Sd3Inputs => ({
    hiddenStates: x,
    encoderHiddenStates: conditioningTensor(c, SD3_FIELDS.prompt),
    pooledProjections: conditioningTensor(c, SD3_FIELDS.pooled),
    timestep: perSample(x.size(0), t),
  });
  return {
    batch: latents.size(0),
    geometry,
    guidance,
    branches,
    modelTimestep: (t) => t,
    forward: (x, c, t, attention) => model.forward(forwardInputs(x, c, t), { attention }),
    embed: (x, c, t) => model.embed(forwardInputs(x, c, t)),
    select(state, image, keptRows, text) {
      state.image = replace(state.image, tokenSlice(state.image, image.start, image.end));
      if (text && state.text) state.text = replace(state.text, tokenSlice(state.text, text.start, text.end));
      // Row-major patch order: an equal share of tokens is a band of whole patch rows.
      state.rows = keptRows;
    },
    runBlocks: (state, range, attention) => model.runBlocks(state, range, attention),
    head: (state) => model.head(state),
    pack(state) {
      if (!state.text) throw new Error('SD3 stage boundary after the text stream ended');
      return [state.activatedTemb, state.image, state.text];
    },
    stateParts: (batch, n) => [
      { shape: [batch, width] },
      { shape: [batch, n, width] },
      { shape: [batch, textTokens, width] },
    ],
    unpack(parts, _fromBlock, keptRows) {
      const [temb, image, text] = parts as [Tensor, Tensor, Tensor];
      return { activatedTemb: temb, image, text, rows: keptRows, cols };
    },
    release: releaseState,
  };
}
