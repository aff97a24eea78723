/**
 * A rank's denoising loop: the parallel counterpart of denoise/denoise.ts, which it must match, for any
 * family. Data parallel picks this replica's prompts; each step runs the family's forward with sequence
 * parallelism inside (sp-forward.ts), guided — with CFG parallel over the CFG axis — and stepped by the
 * scheduler on every rank of the replica (latents stay identical across its SP and CFG ranks), in the
 * loop the one-process denoiser runs (denoise/denoise-loop.ts); PipeFusion runs its own loop
 * (pipefusion/). The group's leader returns the whole batch; other ranks return null.
 */

import { checkSameFamily, runDenoiseLoop } from '../denoise/denoise-loop.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import type { Tensor, TransferCounts } from '../native/index.js';
import type { SchedulerConfig } from '../scheduler/scheduler.js';
import { cfgAxis, type RankContext } from './context.js';
import { collectOnLeader, replicaInputs } from './data-parallel.js';
import { pipefusionDenoise } from './pipefusion/pipefusion-denoise.js';
import { spForward } from './sp-forward.js';

export interface ParallelDenoiseOptions {
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerConfig;
  /** PipeFusion: patches per image and synchronous warm-up steps (ignored at pp = 1). */
  pipeline: { patches: number; warmupSteps: number };
  /** After each step: its time and the host↔device copies this rank made in it. */
  onStep?: (step: { index: number; ms: number; copies: TransferCounts }) => void;
}

export async function parallelDenoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
): Promise<Tensor | null> {
  checkSameFamily(loaded, inputs);
  const mine = replicaInputs(inputs, ctx.degrees.dataParallel, ctx.coords.dataParallel);
  const latents =
    ctx.degrees.pipefusion > 1
      ? await pipefusionDenoise(loaded, mine, options, ctx)
      : await stepLoop(loaded, mine, options, ctx);
  // The completions of every operation the GPU waited for (NCCL), observed once per request.
  await ctx.clock.settle();
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
  const { blockCount } = loaded.model;
  const { latents } = await runDenoiseLoop(loaded, inputs, {
    steps: options.steps,
    guidanceScale: options.guidanceScale,
    scheduler: options.scheduler,
    forward: (request, x, conditioning, t) => spForward(request, x, conditioning, t, ctx, blockCount),
    cfg: cfgAxis(ctx),
    onStep: options.onStep,
    logger: ctx.logger,
  });
  return latents;
}
