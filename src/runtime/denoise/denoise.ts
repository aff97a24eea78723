/**
 * The one-process denoiser: initial latents and prompt embeddings in, N flow-match Euler steps, latents
 * out — the reference every parallel configuration must match. Each step: guided velocity at the
 * step's timestep (predict.ts), then latents += (σ_{i+1} − σ_i)·v in float32.
 */
import { log } from '../../shared/log.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import { type AttentionFn, localAttention } from '../models/common/attention.js';
import type { Tensor } from '../native/index.js';
import type { FlowMatchEulerConfig } from '../scheduler/flow-match-config.js';
import { eulerStep } from '../scheduler/flow-match-euler.js';
import { type DenoiseInputs, imageTokens } from './inputs.js';
import { fluxVelocity, sd3Velocity } from './predict.js';
import { type DenoiseSchedule, denoiseSchedule } from './schedule.js';

const logger = log.child({ component: 'denoise' });

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

export interface DenoiseOptions {
  steps: number;
  /** Flux-dev: the embedded guidance; SD3: the CFG scale (> 1 turns CFG on); ignored by schnell. */
  guidanceScale: number;
  scheduler: FlowMatchEulerConfig;
  attention?: AttentionFn;
  onStep?: (report: StepReport) => void;
}

export interface DenoiseResult {
  latents: Tensor;
  schedule: DenoiseSchedule;
}

export async function denoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: DenoiseOptions,
): Promise<DenoiseResult> {
  if (inputs.family !== loaded.family) {
    throw new Error(`the inputs are for ${inputs.family} but the model is ${loaded.config.className}`);
  }
  const patch = loaded.family === 'sd3' ? loaded.config.patchSize : 1;
  const schedule = denoiseSchedule(
    loaded.family,
    options.scheduler,
    options.steps,
    imageTokens(inputs, patch),
  );
  const attention = options.attention ?? localAttention;
  // Latents stay float32 and contiguous between steps; the Euler update writes them in place.
  const latents = inputs.latents.to('f32').clone();
  const values = latents.data() as Float32Array;
  for (let i = 0; i < schedule.timesteps.length; i++) {
    const started = performance.now();
    const t = schedule.timesteps[i] as number;
    const velocity =
      loaded.family === 'flux' && inputs.family === 'flux'
        ? await fluxVelocity(loaded, inputs, latents, t, options.guidanceScale, attention)
        : loaded.family === 'sd3' && inputs.family === 'sd3'
          ? await sd3Velocity(loaded, inputs, latents, t, options.guidanceScale, attention)
          : unreachable();
    eulerStep(schedule, i, values, velocity.toFloat32Array(), values);
    const ms = performance.now() - started;
    logger.debug({ step: i, timestep: t, sigma: schedule.sigmas[i], ms: Math.round(ms) }, 'denoising step');
    options.onStep?.({
      index: i,
      timestep: t,
      sigma: schedule.sigmas[i] as number,
      noisePred: velocity,
      latents,
      ms,
    });
    velocity.release();
  }
  return { latents, schedule };
}

function unreachable(): never {
  throw new Error('denoise: model and inputs belong to different families');
}
