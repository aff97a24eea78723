/**
 * The denoising loop every denoiser runs: the one-process reference (denoise.ts) and a rank of a parallel
 * group (parallel-denoise/). Only the forward differs between them (local attention, or sequence
 * parallel inside); the family's request and schedule, the guidance around the forward (guidance/) and
 * the scheduler's update are the same code, which is what keeps the parallel result equal to the
 * reference step for step.
 */
import type { Logger } from '../../shared/log.js';
import type { Conditioning, FamilyRequest } from '../families/index.js';
import { type CfgAxis, guidedPass, passLatents } from '../guidance/guided-pass.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import type { Tensor } from '../native/index.js';
import type { DenoiseScheduler, SchedulerConfig } from '../scheduler/scheduler.js';
import type { DenoiseInputs } from './inputs.js';

export interface StepReport {
  index: number;
  timestep: number;
  sigma: number;
  /** The guided model output of this step (valid during the callback only). */
  noisePred: Tensor;
  /** The latents after this step (valid during the callback only). */
  latents: Tensor;
  ms: number;
}

/** The model output of this rank's forward over `x` (its batch) at schedule timestep `t`. */
export type StepForward = (
  request: FamilyRequest,
  x: Tensor,
  conditioning: Conditioning,
  t: number,
) => Promise<Tensor>;

export interface DenoiseLoop {
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerConfig;
  forward: StepForward;
  /** This rank's place on the CFG axis; null in one process. */
  cfg: CfgAxis | null;
  onStep?: (report: StepReport) => void;
  logger: Logger;
}

export interface DenoiseResult {
  latents: Tensor;
  schedule: DenoiseScheduler;
}

export function checkSameFamily(loaded: LoadedTransformer, inputs: DenoiseInputs): void {
  if (inputs.family !== loaded.family) {
    throw new Error(`the inputs are for ${inputs.family} but the model is ${loaded.config.className}`);
  }
}

export async function runDenoiseLoop(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  loop: DenoiseLoop,
): Promise<DenoiseResult> {
  checkSameFamily(loaded, inputs);
  const request = loaded.model.request(inputs, loop.guidanceScale);
  const schedule = loaded.arch.schedule(loop.scheduler, loop.steps, request.geometry);
  const pass = guidedPass(request, loop.cfg);
  // Latents stay float32 and contiguous between steps; the scheduler's update writes them in place.
  const latents = inputs.latents.to('f32').clone();
  const values = latents.data() as Float32Array;
  try {
    for (let i = 0; i < schedule.timesteps.length; i++) {
      const started = performance.now();
      const t = schedule.timesteps[i] as number;
      const x = passLatents(pass, latents);
      const out = await loop.forward(request, x, pass.conditioning, t);
      if (x !== latents) x.release();
      const output = await pass.combine(out);
      if (output !== out) out.release();
      schedule.step(i, values, output.toFloat32Array());
      const ms = performance.now() - started;
      const sigma = schedule.sigmas[i] as number;
      loop.logger.debug({ step: i, timestep: t, sigma, ms: Math.round(ms) }, 'denoising step');
      loop.onStep?.({ index: i, timestep: t, sigma, noisePred: output, latents, ms });
      output.release();
    }
  } finally {
    pass.release();
  }
  return { latents, schedule };
}
