/**
 * Stable Diffusion 3 / 3.5 (SD3Transformer2DModel) as a family: its config and manifest (checkpoint/sd3-*),
 * the model (models/sd3/), the request (sd3-request.ts), the inputs — latents [B, C, H, W], prompt
 * embeddings and, for classifier-free guidance, negative ones — and StableDiffusion3Pipeline's schedule
 * (the scheduler's own timesteps, mu only with dynamic shifting).
 */

import { parseSd3Config, type Sd3TransformerConfig } from '../checkpoint/sd3-config.js';
import { sd3BlockCounts, sd3Manifest } from '../checkpoint/sd3-manifest.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { NamedTensors } from '../model-loader/named-tensors.js';
import { Sd3Transformer } from '../models/sd3/transformer.js';
import type { Tensor } from '../native/index.js';
import { FlowMatchEulerScheduler, sd3PipelineSchedule } from '../scheduler/flow-match-euler.js';
import { flowMatchConfig, flowMatchScheduler } from '../scheduler/scheduler.js';
import type { Architecture, InputDims, ModelFamily, TransformerConfig } from './family.js';
import { dim, requireTensor } from './inputs.js';
import { mmditForwardArgs, mmditInputDims, once } from './mmdit.js';
import { checkSd3InputsFile } from './sd3-file-check.js';
import { SD3_FIELDS, sd3Request } from './sd3-request.js';

const CLASS_NAME = 'SD3Transformer2DModel';

const FILE_NAMES = [
  'latents',
  'prompt_embeds',
  'pooled_prompt_embeds',
  'negative_prompt_embeds',
  'negative_pooled_prompt_embeds',
];
const FORWARD_NAMES = ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep'];

function asSd3Config(config: TransformerConfig): Sd3TransformerConfig {
  if (config.className !== CLASS_NAME) {
    throw new Error(`the sd3 family cannot bind a ${config.className} config`);
  }
  return config as Sd3TransformerConfig;
}

function architecture(config: TransformerConfig): Architecture {
  const c = asSd3Config(config);
  const manifest = once(() => sd3Manifest(c));
  return {
    family: sd3,
    config: c,
    facts: {
      family: 'sd3',
      label: 'SD3',
      heads: c.numAttentionHeads,
      headDim: c.attentionHeadDim,
      blocks: c.numLayers,
      latentPatch: c.patchSize,
      trueCfg: true,
    },
    blockCounts: sd3BlockCounts(c),
    get manifest() {
      return manifest();
    },
    inputDims: mmditInputDims(c),
    build(weights, range) {
      const model = new Sd3Transformer(c, weights, range);
      return {
        blockCount: model.blockCount,
        loaded: model.loaded,
        request: (inputs, guidanceScale) => sd3Request(model, c, inputs, guidanceScale),
        forwardNamed: (named, attention) => model.forward(mmditForwardArgs(named), { attention }),
      };
    },
    checkInputsFile: (file, path, steps, guidanceScale) =>
      checkSd3InputsFile(c, file, path, steps, guidanceScale),
    schedule(scheduler, steps, geometry) {
      const config = flowMatchConfig(scheduler, 'StableDiffusion3Pipeline');
      return flowMatchScheduler(
        sd3PipelineSchedule(new FlowMatchEulerScheduler(config), steps, geometry.imageTokens),
      );
    },
  };
}

function samplesOf(get: (name: string) => Tensor | undefined, need: (name: string) => Tensor) {
  const negative = get('negative_prompt_embeds');
  const negativePooled = get('negative_pooled_prompt_embeds');
  return {
    [SD3_FIELDS.prompt]: need('prompt_embeds'),
    [SD3_FIELDS.pooled]: need('pooled_prompt_embeds'),
    ...(negative ? { [SD3_FIELDS.negative]: negative } : {}),
    ...(negativePooled ? { [SD3_FIELDS.negativePooled]: negativePooled } : {}),
  };
}

export const sd3: ModelFamily = {
  name: 'sd3',
  className: CLASS_NAME,
  defaultGuidanceScale: 7.0,
  parseConfig: parseSd3Config,
  architecture,
  fileInputNames: FILE_NAMES,
  forwardInputNames: FORWARD_NAMES,
  inputsFromFile(named: NamedTensors) {
    const why: Record<string, string> = {
      latents: 'the initial noise',
      prompt_embeds: 'the text embeddings',
      pooled_prompt_embeds: 'the pooled text embedding',
    };
    const latents = named.required('latents', 'the initial noise');
    const inputs: DenoiseInputs = {
      family: 'sd3',
      latents,
      samples: samplesOf(
        (name) => named.optional(name),
        (name) => named.required(name, why[name] ?? name),
      ),
      shared: {},
    };
    return { inputs, finish: (result: Tensor) => result };
  },
  requestInputs(grid, dims: InputDims) {
    const text = [grid.textTokens, dim(dims, 'jointAttentionDim')];
    const pooled = [dim(dims, 'pooledProjectionDim')];
    return {
      // StableDiffusion3Pipeline runs CFG when guidance_scale > 1.
      cfgAbove: 1,
      ignored: [],
      tensors: [
        {
          name: 'latents',
          field: 'latents',
          dims: [dim(dims, 'inChannels'), grid.latentHeight, grid.latentWidth],
          presence: 'required',
        },
        { name: 'prompt_embeds', field: SD3_FIELDS.prompt, dims: text, presence: 'required' },
        { name: 'pooled_prompt_embeds', field: SD3_FIELDS.pooled, dims: pooled, presence: 'required' },
        { name: 'negative_prompt_embeds', field: SD3_FIELDS.negative, dims: text, presence: 'withGuidance' },
        {
          name: 'negative_pooled_prompt_embeds',
          field: SD3_FIELDS.negativePooled,
          dims: pooled,
          presence: 'withGuidance',
        },
      ],
    };
  },
  inputsFromRequest(tensors) {
    return {
      family: 'sd3',
      latents: requireTensor(tensors, 'latents'),
      samples: samplesOf(
        (name) => tensors.get(name),
        (name) => requireTensor(tensors, name),
      ),
      shared: {},
    };
  },
};
