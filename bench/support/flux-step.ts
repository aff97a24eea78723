/**
 * The Flux step bench:model and bench:model-memory time and measure: the config (4 double + 8 single
 * blocks, 8 heads × 64, T5 width 4096, CLIP pooled 768, guidance embedding on), the inputs (1,024 image +
 * 128 text tokens) and one denoising step (transformer forward + Euler update).
 */
import type { FluxTransformerConfig } from '../../src/runtime/checkpoint/flux-config.js';
import { type DenoiseInputs, denoise } from '../../src/runtime/denoise/index.js';
import type { LoadedTransformer } from '../../src/runtime/model-loader/index.js';
import { imageIds, textIds } from '../../src/runtime/models/flux/packing.js';
import { FLOW_MATCH_EULER_DEFAULTS } from '../../src/runtime/scheduler/flow-match-config.js';
import { randomTensor } from './random.js';

export const latentSide = 64; // 64×64 latent → 32×32 = 1,024 packed tokens
export const textTokens = 128;

export const benchFluxConfig: FluxTransformerConfig = {
  className: 'FluxTransformer2DModel',
  patchSize: 1,
  inChannels: 64,
  outChannels: 64,
  numLayers: 4,
  numSingleLayers: 8,
  attentionHeadDim: 64,
  numAttentionHeads: 8,
  jointAttentionDim: 4096,
  pooledProjectionDim: 768,
  guidanceEmbeds: true,
  axesDimsRope: [8, 28, 28],
};

/** `bench:model`'s config in a line. */
export const describeBenchFlux = (): string =>
  `Flux ${benchFluxConfig.numLayers} double + ${benchFluxConfig.numSingleLayers} single blocks, ` +
  `${benchFluxConfig.numAttentionHeads} heads × ${benchFluxConfig.attentionHeadDim}, ` +
  `${(latentSide / 2) ** 2} image + ${textTokens} text tokens`;

export const benchFluxInputs = (): DenoiseInputs => fluxInputs(benchFluxConfig, latentSide, textTokens);

/** Seeded inputs for `config`: a square latent of side `side` ((side/2)² packed tokens) and `text` tokens. */
export function fluxInputs(config: FluxTransformerConfig, side: number, text: number): DenoiseInputs {
  return {
    family: 'flux',
    latents: randomTensor([1, (side / 2) ** 2, config.inChannels], 1, 7),
    samples: {
      promptEmbeds: randomTensor([1, text, config.jointAttentionDim], 1, 8),
      pooledPromptEmbeds: randomTensor([1, config.pooledProjectionDim], 1, 9),
    },
    shared: { imgIds: imageIds(side, side), txtIds: textIds(text) },
  };
}

/** One denoising step of `loaded` on `inputs`; the result is released. */
export async function fluxStep(loaded: LoadedTransformer, inputs: DenoiseInputs): Promise<void> {
  const scheduler = {
    kind: 'flow-match-euler',
    config: { ...FLOW_MATCH_EULER_DEFAULTS, shift: 3, useDynamicShifting: true },
  } as const;
  const { latents } = await denoise(loaded, inputs, { steps: 1, guidanceScale: 3.5, scheduler });
  latents.release();
}
