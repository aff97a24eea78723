/**
 * The one-process denoiser: initial latents and prompt embeddings in, N flow-match Euler steps, latents
 * out — the reference every parallel configuration must match. Each step: guided velocity at the
 * step's timestep (predict.ts), then latents += (σ_{i+1} − σ_i)·v in float32.
 */
import { log } from '../../shared/log.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import { type AttentionFn, localAttention } from '../models/common/attention.js';
import type { FlowMatchEulerConfig } from '../scheduler/flow-match-config.js';
import { type DenoiseResult, runEulerLoop, type StepReport } from './euler-loop.js';
import type { DenoiseInputs } from './inputs.js';
import { fluxVelocity, sd3Velocity } from './predict.js';

export type { DenoiseResult, StepReport };

const logger = log.child({ component: 'denoise' });

export interface DenoiseOptions {
  steps: number;
  /** Flux-dev: the embedded guidance; SD3: the CFG scale (> 1 turns CFG on); ignored by schnell. */
  guidanceScale: number;
  scheduler: FlowMatchEulerConfig;
  attention?: AttentionFn;
  onStep?: (report: StepReport) => void;
}

export async function denoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: DenoiseOptions,
): Promise<DenoiseResult> {
  const attention = options.attention ?? localAttention;
  const { guidanceScale } = options;
  return runEulerLoop(loaded, inputs, {
    steps: options.steps,
    scheduler: options.scheduler,
    velocityAt: (latents, t) =>
      loaded.family === 'flux' && inputs.family === 'flux'
        ? fluxVelocity(loaded, inputs, latents, t, guidanceScale, attention)
        : loaded.family === 'sd3' && inputs.family === 'sd3'
          ? sd3Velocity(loaded, inputs, latents, t, guidanceScale, attention)
          : unreachable(),
    onStep: options.onStep,
    logger,
  });
}

function unreachable(): never {
  throw new Error('denoise: model and inputs belong to different families');
}
