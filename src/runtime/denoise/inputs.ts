/**
 * What the one-process denoiser takes: initial latents and prompt embeddings (text encoders and VAE run
 * elsewhere). Flux latents are packed tokens with their position ids; SD3 latents are [B, C, H, W] with
 * optional negative embeddings for true classifier-free guidance.
 */
import type { Tensor } from '../native/index.js';

export interface FluxDenoiseInputs {
  family: 'flux';
  /** Packed latents [B, N_img, 4C]. */
  latents: Tensor;
  /** [N_img, 3] = (0, row, col) per token (imageIds()). */
  imgIds: Tensor;
  /** [N_txt, 3], zeros for FLUX.1 (textIds()). */
  txtIds: Tensor;
  promptEmbeds: Tensor;
  pooledPromptEmbeds: Tensor;
}

export interface Sd3DenoiseInputs {
  family: 'sd3';
  /** [B, C, H, W]. */
  latents: Tensor;
  promptEmbeds: Tensor;
  pooledPromptEmbeds: Tensor;
  /** Required when guidanceScale > 1 (true CFG over [uncond; cond]). */
  negativePromptEmbeds?: Tensor;
  negativePooledPromptEmbeds?: Tensor;
}

export type DenoiseInputs = FluxDenoiseInputs | Sd3DenoiseInputs;

/** Image tokens the scheduler's resolution-dependent shift sees (Flux: packed tokens; SD3: patches). */
export function imageTokens(inputs: DenoiseInputs, patchSize: number): number {
  if (inputs.family === 'flux') return inputs.latents.size(1);
  return (inputs.latents.size(2) / patchSize) * (inputs.latents.size(3) / patchSize);
}
