/**
 * FLUX.1 (FluxTransformer2DModel; dev with the guidance embedding, schnell without) as a family: its
 * config and manifest (checkpoint/flux-*), the model (models/flux/), the request (flux-request.ts), the
 * inputs a file or a serving request carries — latents packed into 2×2 tokens [B, N, 4C] with position
 * ids — and FluxPipeline's schedule (sigmas linspace(1, 1/N, N), mu from the image tokens).
 */
import { type FluxTransformerConfig, parseFluxConfig } from '../checkpoint/flux-config.js';
import { fluxBlockCounts, fluxManifest } from '../checkpoint/flux-manifest.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { NamedTensors } from '../model-loader/named-tensors.js';
import { imageIds, packLatents, textIds, unpackLatents } from '../models/flux/packing.js';
import { FluxTransformer } from '../models/flux/transformer.js';
import type { Tensor } from '../native/index.js';
import { FlowMatchEulerScheduler, fluxPipelineSchedule } from '../scheduler/flow-match-euler.js';
import { flowMatchConfig, flowMatchScheduler } from '../scheduler/scheduler.js';
import type { Architecture, InputDims, ModelFamily, TransformerConfig } from './family.js';
import { checkFluxInputsFile } from './flux-file-check.js';
import { FLUX_FIELDS, FLUX_SHARED, fluxRequest } from './flux-request.js';
import { dim, requireTensor } from './inputs.js';
import { mmditForwardArgs, mmditInputDims, once } from './mmdit.js';

const CLASS_NAME = 'FluxTransformer2DModel';
/** Latent pixels per token side: FluxPipeline packs 2×2 latent pixels into a token. */
const PACKING = 2;

const FILE_NAMES = ['latents', 'prompt_embeds', 'pooled_prompt_embeds', 'img_ids', 'txt_ids'];
const FORWARD_NAMES = [
  'hidden_states',
  'encoder_hidden_states',
  'pooled_projections',
  'timestep',
  'guidance',
  'img_ids',
  'txt_ids',
];

function asFluxConfig(config: TransformerConfig): FluxTransformerConfig {
  if (config.className !== CLASS_NAME) {
    throw new Error(`the flux family cannot bind a ${config.className} config`);
  }
  return config as FluxTransformerConfig;
}

function architecture(config: TransformerConfig): Architecture {
  const c = asFluxConfig(config);
  const blocks = c.numLayers + c.numSingleLayers;
  const manifest = once(() => fluxManifest(c));
  return {
    family: flux,
    config: c,
    facts: {
      family: 'flux',
      label: 'Flux',
      heads: c.numAttentionHeads,
      headDim: c.attentionHeadDim,
      blocks,
      latentPatch: PACKING,
      trueCfg: false,
    },
    blockCounts: fluxBlockCounts(c),
    get manifest() {
      return manifest();
    },
    inputDims: mmditInputDims(c),
    build(weights, range) {
      const model = new FluxTransformer(c, weights, range);
      return {
        blockCount: model.blockCount,
        loaded: model.loaded,
        request: (inputs, guidanceScale) => fluxRequest(model, c, inputs, guidanceScale),
        forwardNamed: (named, attention) => {
          const args = mmditForwardArgs(named);
          const batch = args.hiddenStates.size(0);
          return model.forward(
            {
              ...args,
              guidance: c.guidanceEmbeds
                ? named.scalars('guidance', batch, 'this checkpoint has guidance_embeds = true')
                : undefined,
              imgIds: named.required('img_ids', 'image position ids [N_img, 3]'),
              txtIds: named.required('txt_ids', 'text position ids [N_txt, 3]'),
            },
            { attention },
          );
        },
      };
    },
    checkInputsFile: (file, path, steps) => checkFluxInputsFile(c, file, path, steps),
    schedule(scheduler, steps, geometry) {
      const config = flowMatchConfig(scheduler, 'FluxPipeline');
      return flowMatchScheduler(
        fluxPipelineSchedule(new FlowMatchEulerScheduler(config), steps, geometry.imageTokens),
      );
    },
  };
}

function inputsFromFile(named: NamedTensors) {
  const latents = named.required('latents', 'the initial noise');
  const promptEmbeds = named.required('prompt_embeds', 'the text embeddings');
  const pooledPromptEmbeds = named.required('pooled_prompt_embeds', 'the pooled text embedding');
  const txtIds = named.optional('txt_ids') ?? textIds(promptEmbeds.size(1));
  const samples = { [FLUX_FIELDS.prompt]: promptEmbeds, [FLUX_FIELDS.pooled]: pooledPromptEmbeds };
  if (latents.rank === 4) {
    // Unpacked [B, C, h, w]: packed here and unpacked again on output, as FluxPipeline does.
    const [, , height, width] = latents.shape as [number, number, number, number];
    const inputs: DenoiseInputs = {
      family: 'flux',
      latents: packLatents(latents),
      samples,
      shared: { [FLUX_SHARED.imageIds]: imageIds(height, width), [FLUX_SHARED.textIds]: txtIds },
    };
    return { inputs, finish: (result: Tensor) => unpackLatents(result, height, width) };
  }
  const imgIds = named.required(
    'img_ids',
    'packed latents need their position ids; or give unpacked latents [B,C,h,w]',
  );
  const inputs: DenoiseInputs = {
    family: 'flux',
    latents,
    samples,
    shared: { [FLUX_SHARED.imageIds]: imgIds, [FLUX_SHARED.textIds]: txtIds },
  };
  return { inputs, finish: (result: Tensor) => result };
}

export const flux: ModelFamily = {
  name: 'flux',
  className: CLASS_NAME,
  defaultGuidanceScale: 3.5,
  parseConfig: parseFluxConfig,
  architecture,
  fileInputNames: FILE_NAMES,
  forwardInputNames: FORWARD_NAMES,
  inputsFromFile,
  requestInputs(grid, dims: InputDims) {
    // Packed latents: one token per 2×2 latent pixels, channels × 4 features (FluxPipeline's layout).
    const tokens = (grid.latentHeight / PACKING) * (grid.latentWidth / PACKING);
    return {
      cfgAbove: null,
      ignored: ['img_ids', 'txt_ids'],
      tensors: [
        { name: 'latents', field: 'latents', dims: [tokens, dim(dims, 'inChannels')], presence: 'required' },
        {
          name: 'prompt_embeds',
          field: FLUX_FIELDS.prompt,
          dims: [grid.textTokens, dim(dims, 'jointAttentionDim')],
          presence: 'required',
        },
        {
          name: 'pooled_prompt_embeds',
          field: FLUX_FIELDS.pooled,
          dims: [dim(dims, 'pooledProjectionDim')],
          presence: 'required',
        },
      ],
    };
  },
  inputsFromRequest(tensors, grid) {
    const prompt = requireTensor(tensors, 'prompt_embeds');
    return {
      family: 'flux',
      latents: requireTensor(tensors, 'latents'),
      samples: {
        [FLUX_FIELDS.prompt]: prompt,
        [FLUX_FIELDS.pooled]: requireTensor(tensors, 'pooled_prompt_embeds'),
      },
      shared: {
        [FLUX_SHARED.imageIds]: imageIds(grid.latentHeight, grid.latentWidth),
        [FLUX_SHARED.textIds]: textIds(prompt.size(1)),
      },
    };
  },
};
