/**
 * The flow-match Euler loop both denoisers run: the one-process reference (denoise.ts) and a rank of a
 * parallel group (parallel-denoise/). Only how the velocity is computed differs between them, so they
 * share the schedule, the latent bookkeeping and the step update here — which is what keeps the parallel
 * result equal to the reference step for step.
 */
import type { Logger } from '../../shared/log.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import type { Tensor } from '../native/index.js';
import type { FlowMatchEulerConfig } from '../scheduler/flow-match-config.js';
import { eulerStep } from '../scheduler/flow-match-euler.js';
import { type DenoiseInputs, imageTokens } from './inputs.js';
import { type DenoiseSchedule, denoiseSchedule } from './schedule.js';

export interface StepReport {
  index: number;
  timestep: number;
  sigma: number;
  /** The guided velocity of this step (valid during the callback only). */
  noisePred: Tensor;
  /** The latents after this step (valid during the callback only). */
  latents: Tensor;
  ms: number;
}

export interface EulerLoop {
  steps: number;
  scheduler: FlowMatchEulerConfig;
  /** Guided velocity at `timestep` for the current latents; the loop releases it after the step. */
  velocityAt(latents: Tensor, timestep: number): Promise<Tensor>;
  onStep?: (report: StepReport) => void;
  logger: Logger;
}

export interface DenoiseResult {
  latents: Tensor;
  schedule: DenoiseSchedule;
}

export async function runEulerLoop(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  loop: EulerLoop,
): Promise<DenoiseResult> {
  if (inputs.family !== loaded.family) {
    throw new Error(`the inputs are for ${inputs.family} but the model is ${loaded.config.className}`);
  }
  const patch = loaded.family === 'sd3' ? loaded.config.patchSize : 1;
  const schedule = denoiseSchedule(loaded.family, loop.scheduler, loop.steps, imageTokens(inputs, patch));
  // Latents stay float32 and contiguous between steps; the Euler update writes them in place.
  const latents = inputs.latents.to('f32').clone();
  const values = latents.data() as Float32Array;
  for (let i = 0; i < schedule.timesteps.length; i++) {
    const started = performance.now();
    const t = schedule.timesteps[i] as number;
    const velocity = await loop.velocityAt(latents, t);
    eulerStep(schedule, i, values, velocity.toFloat32Array(), values);
    const ms = performance.now() - started;
    const sigma = schedule.sigmas[i] as number;
    loop.logger.debug({ step: i, timestep: t, sigma, ms: Math.round(ms) }, 'denoising step');
    loop.onStep?.({ index: i, timestep: t, sigma, noisePred: velocity, latents, ms });
    velocity.release();
  }
  return { latents, schedule };
}
