/**
 * What a denoiser takes, whatever the architecture: the starting latents and the prompt's tensors (text
 * encoders and VAE run elsewhere). Which tensors a family needs, and what they mean, is the family's
 * (src/runtime/families/); the loops, the parallel layers and the serve loop only move them: per-sample
 * tensors follow the batch (data parallel cuts them, CFG batches them), shared ones go along whole.
 */

import type { ModelFacts } from '../../shared/plan/index.js';
import type { Tensor } from '../native/index.js';

/** Tensors by name, each with the batch on axis 0. */
export type SampleTensors = Readonly<Record<string, Tensor>>;

export interface DenoiseInputs {
  readonly family: ModelFacts['family'];
  /** Latents in the transformer's layout, batch first (Flux: packed tokens [B, N, 4C]; SD3: [B, C, H, W]). */
  readonly latents: Tensor;
  /** Per-sample tensors, e.g. promptEmbeds, pooledPromptEmbeds, negativePromptEmbeds. */
  readonly samples: SampleTensors;
  /** Tensors every sample shares, e.g. Flux's position ids. */
  readonly shared: Readonly<Record<string, Tensor>>;
}

/** Every tensor of the inputs (for releasing them). */
export function inputTensors(inputs: DenoiseInputs): Tensor[] {
  return [inputs.latents, ...Object.values(inputs.samples), ...Object.values(inputs.shared)];
}

/** The per-sample tensor `name`; errors name it and what it is for. */
export function sampleTensor(inputs: DenoiseInputs, name: string, why: string): Tensor {
  const t = inputs.samples[name];
  if (!t) throw new Error(`the ${inputs.family} inputs have no ${name} (${why})`);
  return t;
}

/** The shared tensor `name`; errors name it and what it is for. */
export function sharedTensor(inputs: DenoiseInputs, name: string, why: string): Tensor {
  const t = inputs.shared[name];
  if (!t) throw new Error(`the ${inputs.family} inputs have no ${name} (${why})`);
  return t;
}
