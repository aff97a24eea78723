/**
 * The guided velocity of one step on this rank, with CFG parallel around the sequence-parallel forward
 * (xdit.md §3.7): with cfg = 2, CFG rank 0 runs the unconditional branch and rank 1 the conditional one,
 * one all-gather over the CFG axis brings [uncond; cond] to both, and both combine them (and then step
 * the scheduler) redundantly, so their latents stay identical without more traffic.
 */
import { classifierFreeGuidance } from '../denoise/guidance.js';
import type { FluxDenoiseInputs, Sd3DenoiseInputs } from '../denoise/inputs.js';
import { sd3UsesCfg } from '../denoise/predict.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import { ops, Tensor } from '../native/index.js';
import type { RankContext } from './context.js';
import { fluxForward, sd3Forward } from './sp-forward.js';

export class CfgParallelError extends Error {
  override readonly name = 'CfgParallelError';
}

export function fluxStepVelocity(
  loaded: Extract<LoadedTransformer, { family: 'flux' }>,
  inputs: FluxDenoiseInputs,
  latents: Tensor,
  t: number,
  guidanceScale: number,
  ctx: RankContext,
): Promise<Tensor> {
  if (ctx.degrees.cfg !== 1) {
    throw new CfgParallelError(
      'CFG parallel (cfg = 2) needs true classifier-free guidance; Flux is guidance-distilled (one pass per step)',
    );
  }
  const batch = latents.size(0);
  const sigma = Math.fround(t / 1000);
  return fluxForward(
    loaded.model,
    {
      hiddenStates: latents,
      encoderHiddenStates: inputs.promptEmbeds,
      pooledProjections: inputs.pooledPromptEmbeds,
      timestep: new Array<number>(batch).fill(sigma),
      ...(loaded.config.guidanceEmbeds
        ? { guidance: new Array<number>(batch).fill(Math.fround(guidanceScale)) }
        : {}),
      imgIds: inputs.imgIds,
      txtIds: inputs.txtIds,
    },
    ctx,
  );
}

export async function sd3StepVelocity(
  loaded: Extract<LoadedTransformer, { family: 'sd3' }>,
  inputs: Sd3DenoiseInputs,
  latents: Tensor,
  t: number,
  guidanceScale: number,
  ctx: RankContext,
): Promise<Tensor> {
  const forward = (x: Tensor, context: Tensor, pooled: Tensor) =>
    sd3Forward(
      loaded.model,
      {
        hiddenStates: x,
        encoderHiddenStates: context,
        pooledProjections: pooled,
        timestep: new Array<number>(x.size(0)).fill(t),
      },
      ctx,
    );
  const cfgParallel = ctx.degrees.cfg === 2;
  if (!sd3UsesCfg(guidanceScale)) {
    if (cfgParallel) {
      throw new CfgParallelError(
        `CFG parallel (cfg = 2) needs classifier-free guidance: guidance scale ${guidanceScale} ≤ 1 turns it off`,
      );
    }
    return forward(latents, inputs.promptEmbeds, inputs.pooledPromptEmbeds);
  }
  const { negativePromptEmbeds: negative, negativePooledPromptEmbeds: negativePooled } = inputs;
  if (!negative || !negativePooled) {
    throw new CfgParallelError(
      `guidance scale ${guidanceScale} > 1 runs classifier-free guidance: give negative_prompt_embeds and negative_pooled_prompt_embeds`,
    );
  }
  if (!cfgParallel) {
    // Both branches in one batch on this rank, as the one-process denoiser does.
    const doubled = ops.concat([latents, latents], 0);
    const context = ops.concat([negative, inputs.promptEmbeds], 0);
    const pooled = ops.concat([negativePooled, inputs.pooledPromptEmbeds], 0);
    try {
      const both = await forward(doubled, context, pooled);
      const guided = classifierFreeGuidance(both, guidanceScale);
      both.release();
      return guided;
    } finally {
      for (const x of [doubled, context, pooled]) x.release();
    }
  }
  const conditional = ctx.coords.cfg === 1;
  const mine = conditional
    ? await forward(latents, inputs.promptEmbeds, inputs.pooledPromptEmbeds)
    : await forward(latents, negative, negativePooled);
  // [uncond; cond] along the batch: CFG rank 0's prediction first.
  const both = Tensor.empty([2 * mine.size(0), ...mine.shape.slice(1)]);
  await ctx.clock.wait(ctx.axes.cfg.allGather(mine, both));
  mine.release();
  const guided = classifierFreeGuidance(both, guidanceScale);
  both.release();
  return guided;
}
