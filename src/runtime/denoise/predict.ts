/**
 * One model evaluation of a denoising step: the guided velocity at timestep t. This is the unit a
 * parallel denoiser replaces (CFG parallel splits the [uncond; cond] batch, sequence parallel the tokens).
 */

import { usesTrueCfg } from '../guidance/true-cfg.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import type { AttentionFn } from '../models/common/attention.js';
import { ops, type Tensor } from '../native/index.js';
import { classifierFreeGuidance } from './guidance.js';
import type { FluxDenoiseInputs, Sd3DenoiseInputs } from './inputs.js';

/**
 * Flux: one pass per step; timestep = t/1000 (float32), guidance = the scale embedded (dev) or none
 * (schnell).
 */
export function fluxVelocity(
  loaded: Extract<LoadedTransformer, { family: 'flux' }>,
  inputs: FluxDenoiseInputs,
  latents: Tensor,
  t: number,
  guidanceScale: number,
  attention: AttentionFn,
): Promise<Tensor> {
  const batch = latents.size(0);
  const sigma = Math.fround(t / 1000);
  return loaded.model.forward(
    {
      hiddenStates: latents,
      encoderHiddenStates: inputs.promptEmbeds,
      pooledProjections: inputs.pooledPromptEmbeds,
      timestep: new Array<number>(batch).fill(sigma),
      guidance: loaded.config.guidanceEmbeds
        ? new Array<number>(batch).fill(Math.fround(guidanceScale))
        : undefined,
      imgIds: inputs.imgIds,
      txtIds: inputs.txtIds,
    },
    { attention },
  );
}

/** Whether SD3 runs true CFG: Diffusers' `do_classifier_free_guidance` is guidance_scale > 1. */
export const sd3UsesCfg = usesTrueCfg;

/** SD3: timestep = t as is; with CFG one batched pass over [uncond; cond], then the guidance combine. */
export async function sd3Velocity(
  loaded: Extract<LoadedTransformer, { family: 'sd3' }>,
  inputs: Sd3DenoiseInputs,
  latents: Tensor,
  t: number,
  guidanceScale: number,
  attention: AttentionFn,
): Promise<Tensor> {
  if (!sd3UsesCfg(guidanceScale)) {
    return loaded.model.forward(
      {
        hiddenStates: latents,
        encoderHiddenStates: inputs.promptEmbeds,
        pooledProjections: inputs.pooledPromptEmbeds,
        timestep: new Array<number>(latents.size(0)).fill(t),
      },
      { attention },
    );
  }
  const { negativePromptEmbeds: negative, negativePooledPromptEmbeds: negativePooled } = inputs;
  if (!negative || !negativePooled) {
    throw new Error(
      `guidance scale ${guidanceScale} > 1 runs classifier-free guidance: give negative_prompt_embeds and negative_pooled_prompt_embeds (or use a scale ≤ 1)`,
    );
  }
  const doubled = ops.concat([latents, latents], 0);
  const context = ops.concat([negative, inputs.promptEmbeds], 0);
  const pooled = ops.concat([negativePooled, inputs.pooledPromptEmbeds], 0);
  try {
    const both = await loaded.model.forward(
      {
        hiddenStates: doubled,
        encoderHiddenStates: context,
        pooledProjections: pooled,
        timestep: new Array<number>(doubled.size(0)).fill(t),
      },
      { attention },
    );
    const guided = classifierFreeGuidance(both, guidanceScale);
    both.release();
    return guided;
  } finally {
    for (const x of [doubled, context, pooled]) x.release();
  }
}
