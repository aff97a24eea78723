/**
 * PixArt-Σ (PixArtTransformer2DModel) as a family: its config and manifest (checkpoint/pixart-*), the
 * model (models/pixart/), the request (pixart-request.ts), the inputs — latents [B, C, H, W], T5 prompt
 * embeddings with their attention masks and, for classifier-free guidance, negative ones — and
 * PixArtSigmaPipeline's schedule (DPM-Solver++ over the scheduler's own timesteps).
 */
import {
  PIXART_SIGMA_CAPTION_TOKENS,
  type PixartTransformerConfig,
  parsePixartConfig,
} from '../checkpoint/pixart-config.js';
import { pixartBlockCounts, pixartManifest } from '../checkpoint/pixart-manifest.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { NamedTensors } from '../model-loader/named-tensors.js';
import { PixartTransformer } from '../models/pixart/transformer.js';
import type { Tensor } from '../native/index.js';
import { dpmScheduler, dpmSolverConfig } from '../scheduler/scheduler.js';
import type { Architecture, InputDims, ModelFamily, TransformerConfig } from './family.js';
import { dim, requireTensor } from './inputs.js';
import { once } from './mmdit.js';
import { checkPixartInputsFile } from './pixart-file-check.js';
import { PIXART_FIELDS, pixartRequest } from './pixart-request.js';

const CLASS_NAME = 'PixArtTransformer2DModel';

const FILE_NAMES = [
  'latents',
  'prompt_embeds',
  'prompt_attention_mask',
  'negative_prompt_embeds',
  'negative_prompt_attention_mask',
];
const FORWARD_NAMES = ['hidden_states', 'encoder_hidden_states', 'encoder_attention_mask', 'timestep'];

/** File / request names → DenoiseInputs sample fields. */
const SAMPLE_NAMES: Record<string, string> = {
  prompt_embeds: PIXART_FIELDS.prompt,
  prompt_attention_mask: PIXART_FIELDS.mask,
  negative_prompt_embeds: PIXART_FIELDS.negative,
  negative_prompt_attention_mask: PIXART_FIELDS.negativeMask,
};

function asPixartConfig(config: TransformerConfig): PixartTransformerConfig {
  if (config.className !== CLASS_NAME)
    throw new Error(`the pixart family cannot bind a ${config.className} config`);
  return config as PixartTransformerConfig;
}

function architecture(config: TransformerConfig): Architecture {
  const c = asPixartConfig(config);
  const manifest = once(() => pixartManifest(c));
  return {
    family: pixart,
    config: c,
    facts: {
      family: 'pixart',
      label: 'PixArt-Σ',
      heads: c.numAttentionHeads,
      headDim: c.attentionHeadDim,
      blocks: c.numLayers,
      latentPatch: c.patchSize,
      trueCfg: true,
    },
    blockCounts: pixartBlockCounts(c),
    get manifest() {
      return manifest();
    },
    inputDims: { inChannels: c.inChannels, captionChannels: c.captionChannels },
    build(weights, range) {
      const model = new PixartTransformer(c, weights, range);
      return {
        blockCount: model.blockCount,
        loaded: model.loaded,
        request: (inputs, guidanceScale) => pixartRequest(model, c, inputs, guidanceScale),
        forwardNamed: (named, attention) => {
          const hiddenStates = named.required('hidden_states', 'the latents');
          return model.forward(
            {
              hiddenStates,
              encoderHiddenStates: named.required('encoder_hidden_states', 'the T5 text embeddings'),
              encoderAttentionMask: named.optional('encoder_attention_mask') ?? null,
              timestep: named.scalars('timestep', hiddenStates.size(0), 'one timestep per sample'),
            },
            { attention },
          );
        },
      };
    },
    checkInputsFile: (file, path, steps, guidanceScale) =>
      checkPixartInputsFile(c, file, path, steps, guidanceScale),
    schedule: (scheduler, steps) => dpmScheduler(dpmSolverConfig(scheduler, 'PixArtSigmaPipeline'), steps),
  };
}

function samplesOf(get: (name: string) => Tensor | undefined): DenoiseInputs['samples'] {
  const samples: Record<string, Tensor> = {};
  for (const [name, field] of Object.entries(SAMPLE_NAMES)) {
    const t = get(name);
    if (t) samples[field] = t;
  }
  return samples;
}

export const pixart: ModelFamily = {
  name: 'pixart',
  className: CLASS_NAME,
  defaultGuidanceScale: 4.5,
  parseConfig: parsePixartConfig,
  architecture,
  fileInputNames: FILE_NAMES,
  forwardInputNames: FORWARD_NAMES,
  inputsFromFile(named: NamedTensors) {
    const latents = named.required('latents', 'the initial noise');
    named.required('prompt_embeds', 'the T5 text embeddings');
    const inputs: DenoiseInputs = {
      family: 'pixart',
      latents,
      samples: samplesOf((n) => named.optional(n)),
      shared: {},
    };
    return { inputs, finish: (result: Tensor) => result };
  },
  requestInputs(grid, dims: InputDims) {
    // The plan counts text tokens joined to the image sequence (none here); the caption is the pipeline's.
    const tokens = grid.textTokens > 0 ? grid.textTokens : PIXART_SIGMA_CAPTION_TOKENS;
    const text = [tokens, dim(dims, 'captionChannels')];
    const mask = [tokens];
    return {
      // PixArtSigmaPipeline runs CFG when guidance_scale > 1.
      cfgAbove: 1,
      ignored: [],
      tensors: [
        {
          name: 'latents',
          field: 'latents',
          dims: [dim(dims, 'inChannels'), grid.latentHeight, grid.latentWidth],
          presence: 'required',
        },
        { name: 'prompt_embeds', field: PIXART_FIELDS.prompt, dims: text, presence: 'required' },
        { name: 'prompt_attention_mask', field: PIXART_FIELDS.mask, dims: mask, presence: 'optional' },
        {
          name: 'negative_prompt_embeds',
          field: PIXART_FIELDS.negative,
          dims: text,
          presence: 'withGuidance',
        },
        {
          name: 'negative_prompt_attention_mask',
          field: PIXART_FIELDS.negativeMask,
          dims: mask,
          presence: 'optional',
        },
      ],
    };
  },
  inputsFromRequest(tensors) {
    return {
      family: 'pixart',
      latents: requireTensor(tensors, 'latents'),
      samples: samplesOf((n) => tensors.get(n)),
      shared: {},
    };
  },
};
