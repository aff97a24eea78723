/**
 * One request on a FluxTransformer2DModel: packed latents [B, N_img, 4C] with their position ids, one
 * pass per step (FLUX.1 is guidance-distilled: dev embeds the scale as an input, schnell has none), model
 * timestep σ = t / 1000, joint attention over [text; image] with rotary tables that follow the tokens a
 * rank keeps.
 */
import type { FluxTransformerConfig } from '../checkpoint/flux-config.js';
import { type DenoiseInputs, sampleTensor, sharedTensor } from '../denoise/inputs.js';
import type { FluxState } from '../models/flux/state.js';
import { releaseState } from '../models/flux/state.js';
import type { FluxInputs, FluxTransformer } from '../models/flux/transformer.js';
import { ops, type Tensor } from '../native/index.js';
import { tokenSlice } from '../parallel/sequence-shard.js';
import type { Conditioning, FamilyRequest, StatePart, TokenGeometry } from './family.js';
import { perSample, replace, tableRows } from './state-cuts.js';

/** The Flux pipeline's inputs: `latents` packed, prompt embeddings per sample, position ids shared. */
export const FLUX_FIELDS = { prompt: 'promptEmbeds', pooled: 'pooledPromptEmbeds' } as const;
export const FLUX_SHARED = { imageIds: 'imgIds', textIds: 'txtIds' } as const;

function conditioningTensor(c: Conditioning, name: string): Tensor {
  const t = c[name];
  if (!t) throw new Error(`Flux conditioning has no ${name}`);
  return t;
}

export function fluxRequest(
  model: FluxTransformer,
  config: FluxTransformerConfig,
  inputs: DenoiseInputs,
  guidanceScale: number,
): FamilyRequest<FluxState> {
  const latents = inputs.latents;
  const imgIds = sharedTensor(inputs, FLUX_SHARED.imageIds, 'image position ids');
  const txtIds = sharedTensor(inputs, FLUX_SHARED.textIds, 'text position ids');
  const prompt = sampleTensor(inputs, FLUX_FIELDS.prompt, 'the T5 embeddings');
  const pooled = sampleTensor(inputs, FLUX_FIELDS.pooled, 'the pooled CLIP embedding');
  if (latents.rank !== 3) {
    throw new Error(`Flux latents must be packed [B, N_img, 4C], got [${latents.shape.join(', ')}]`);
  }
  const ids = imgIds.toFloat32Array();
  const rows = (ids[ids.length - 2] ?? 0) + 1;
  const tokens = latents.size(1);
  const textTokens = prompt.size(1);
  const width = config.numAttentionHeads * config.attentionHeadDim;
  const headDim = config.attentionHeadDim;
  const geometry: TokenGeometry = {
    rows,
    cols: tokens / rows,
    imageTokens: tokens,
    jointTextTokens: textTokens,
    latentLayout: { axis: 1, perUnit: 1, tokensPerUnit: 1 },
    headAxis: 1,
  };
  const modelTimestep = (t: number) => Math.fround(t / 1000);
  const forwardInputs = (x: Tensor, c: Conditioning, t: number): FluxInputs => {
    const batch = x.size(0);
    return {
      hiddenStates: x,
      encoderHiddenStates: conditioningTensor(c, FLUX_FIELDS.prompt),
      pooledProjections: conditioningTensor(c, FLUX_FIELDS.pooled),
      timestep: perSample(batch, modelTimestep(t)),
      ...(config.guidanceEmbeds ? { guidance: perSample(batch, Math.fround(guidanceScale)) } : {}),
      imgIds,
      txtIds,
    };
  };
  return {
    batch: latents.size(0),
    geometry,
    guidance: {
      kind: 'none',
      why: 'Flux is guidance-distilled (one pass per step, the scale embedded as an input)',
    },
    branches: [{ [FLUX_FIELDS.prompt]: prompt, [FLUX_FIELDS.pooled]: pooled }],
    modelTimestep,
    forward: (x, c, t, attention) => model.forward(forwardInputs(x, c, t), { attention }),
    embed: (x, c, t) => model.embed(forwardInputs(x, c, t)),
    select(state, image, _rows, text) {
      const { streams } = state;
      if (streams.kind !== 'separate') throw new Error('Flux state must be cut before the first block');
      const [ts, te] = text ? [text.start, text.end] : [0, textTokens];
      streams.image = replace(streams.image, tokenSlice(streams.image, image.start, image.end));
      if (text) streams.text = replace(streams.text, tokenSlice(streams.text, ts, te));
      // Rotary rows follow the kept joint sequence [text; image].
      const cut = (table: Tensor) => {
        const t = tableRows(table, ts, te);
        const i = tableRows(table, textTokens + image.start, textTokens + image.end);
        const joined = ops.concat([t, i], 0);
        t.release();
        i.release();
        return replace(table, joined);
      };
      state.rope = { cos: cut(state.rope.cos), sin: cut(state.rope.sin) };
    },
    runBlocks: (state, range, attention) => model.runBlocks(state, range, attention),
    head: (state) => model.head(state),
    pack(state) {
      const { streams } = state;
      const tail = streams.kind === 'separate' ? [streams.text, streams.image] : [streams.joint];
      return [state.activatedTemb, state.rope.cos, state.rope.sin, ...tail];
    },
    stateParts(batch, n, fromBlock) {
      const head: StatePart[] = [
        { shape: [batch, width] },
        { shape: [textTokens + n, headDim], f32: true },
        { shape: [textTokens + n, headDim], f32: true },
      ];
      // Streams stay separate through the double blocks (a stage ending with them sends both; the first
      // single block joins them); joint after.
      return fromBlock <= config.numLayers
        ? [...head, { shape: [batch, textTokens, width] }, { shape: [batch, n, width] }]
        : [...head, { shape: [batch, textTokens + n, width] }];
    },
    unpack(parts, fromBlock) {
      const [temb, cos, sin, a, b] = parts as [Tensor, Tensor, Tensor, Tensor, Tensor | undefined];
      return {
        activatedTemb: temb,
        rope: { cos, sin },
        streams:
          fromBlock <= config.numLayers && b
            ? { kind: 'separate', text: a, image: b }
            : { kind: 'joint', joint: a, textTokens },
      };
    },
    release: releaseState,
  };
}
