/**
 * A rank's denoising loop: the parallel counterpart of denoise/denoise.ts, which it must match. Data
 * parallel picks this replica's prompts; each step computes the guided velocity with sequence and CFG
 * parallelism inside (velocity.ts) and applies the flow-match Euler step on every rank of the replica
 * (latents stay identical across its SP and CFG ranks); PipeFusion runs its own loop (pipefusion/).
 * The group's leader returns the whole batch; other ranks return null.
 */

import { runEulerLoop } from '../denoise/euler-loop.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import type { Tensor } from '../native/index.js';
import type { FlowMatchEulerConfig } from '../scheduler/flow-match-config.js';
import type { RankContext } from './context.js';
import { collectOnLeader, replicaInputs } from './data-parallel.js';
import { pipefusionDenoise } from './pipefusion/pipefusion-denoise.js';
import { fluxStepVelocity, sd3StepVelocity } from './velocity.js';

export interface ParallelDenoiseOptions {
  steps: number;
  guidanceScale: number;
  scheduler: FlowMatchEulerConfig;
  /** PipeFusion: patches per image and synchronous warm-up steps (ignored at pp = 1). */
  pipeline: { patches: number; warmupSteps: number };
  onStep?: (step: { index: number; ms: number }) => void;
}

export async function parallelDenoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
): Promise<Tensor | null> {
  if (inputs.family !== loaded.family) {
    throw new Error(`the inputs are for ${inputs.family} but the model is ${loaded.config.className}`);
  }
  const mine = replicaInputs(inputs, ctx.degrees.dataParallel, ctx.coords.dataParallel);
  const latents =
    ctx.degrees.pipefusion > 1
      ? await pipefusionDenoise(loaded, mine, options, ctx)
      : await stepLoop(loaded, mine, options, ctx);
  const result = await collectOnLeader(latents, inputs.latents.shape, ctx);
  if (latents && latents !== result) latents.release();
  return result;
}

async function stepLoop(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
): Promise<Tensor> {
  const { guidanceScale } = options;
  const { latents } = await runEulerLoop(loaded, inputs, {
    steps: options.steps,
    scheduler: options.scheduler,
    velocityAt: (current, t) =>
      loaded.family === 'flux' && inputs.family === 'flux'
        ? fluxStepVelocity(loaded, inputs, current, t, guidanceScale, ctx)
        : loaded.family === 'sd3' && inputs.family === 'sd3'
          ? sd3StepVelocity(loaded, inputs, current, t, guidanceScale, ctx)
          : unreachable(),
    onStep: options.onStep,
    logger: ctx.logger,
  });
  return latents;
}

function unreachable(): never {
  throw new Error('parallel denoise: model and inputs belong to different families');
}
