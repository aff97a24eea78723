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
import { type Tensor, type TransferCounts, transferCounts } from '../native/index.js';
import { type DenoiseScheduler, type SchedulerConfig, stepLatents } from '../scheduler/scheduler.js';
import type { DenoiseInputs } from './inputs.js';
import { onHost, placeInputs } from './placed-inputs.js';

export interface StepReport {
  index: number;
  timestep: number;
  sigma: number;
  /** The guided model output of this step (valid during the callback only). */
  noisePred: Tensor;
  /** The latents after this step (valid during the callback only). */
  latents: Tensor;
  ms: number;
  /** Host↔device copies the step made (0 on the CPU; on a GPU, only what a communicator staged). */
  copies: TransferCounts;
}

/** The copies made since `before`. */
export function copiesSince(before: TransferCounts): TransferCounts {
  const now = transferCounts();
  return {
    hostToDevice: now.hostToDevice - before.hostToDevice,
    hostToDeviceBytes: now.hostToDeviceBytes - before.hostToDeviceBytes,
    deviceToHost: now.deviceToHost - before.deviceToHost,
    deviceToHostBytes: now.deviceToHostBytes - before.deviceToHostBytes,
  };
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
  /** The final latents, float32 on the host. */
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
  const placed = placeInputs(inputs, loaded.placement);
  const { latents } = placed;
  try {
    const request = loaded.model.request(placed.inputs, loop.guidanceScale);
    const schedule = loaded.arch.schedule(loop.scheduler, loop.steps, request.geometry);
    const pass = guidedPass(request, loop.cfg);
    try {
      for (let i = 0; i < schedule.timesteps.length; i++) {
        const started = performance.now();
        const before = transferCounts();
        const t = schedule.timesteps[i] as number;
        const x = passLatents(pass, latents);
        const out = await loop.forward(request, x, pass.conditioning, t);
        if (x !== latents) x.release();
        const output = await pass.combine(out);
        if (output !== out) out.release();
        stepLatents(schedule, i, latents, output);
        const copies = copiesSince(before);
        const ms = performance.now() - started;
        const sigma = schedule.sigmas[i] as number;
        loop.logger.debug(
          {
            step: i,
            timestep: t,
            sigma,
            ms: Math.round(ms),
            copies: copies.hostToDevice + copies.deviceToHost,
          },
          'denoising step',
        );
        loop.onStep?.({ index: i, timestep: t, sigma, noisePred: output, latents, ms, copies });
        output.release();
      }
    } finally {
      pass.release();
    }
    return { latents: onHost(latents), schedule };
  } catch (error) {
    latents.release();
    throw error;
  } finally {
    placed.release();
  }
}
