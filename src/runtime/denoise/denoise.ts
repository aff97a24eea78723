/**
 * The one-process denoiser: initial latents and prompt embeddings in, N scheduler steps, latents out —
 * the reference every parallel configuration must match. Each step: the family's forward with local
 * attention, guided (guidance/), then the scheduler's update in float32 (denoise-loop.ts).
 */
import { log } from '../../shared/log.js';
import type { LoadedTransformer } from '../model-loader/load-transformer.js';
import { type AttentionFn, localAttention } from '../models/common/attention.js';
import type { SchedulerConfig } from '../scheduler/scheduler.js';
import { type DenoiseResult, runDenoiseLoop, type StepReport } from './denoise-loop.js';
import type { DenoiseInputs } from './inputs.js';

export type { DenoiseResult, StepReport };

const logger = log.child({ component: 'denoise' });

export interface DenoiseOptions {
  steps: number;
  /** The family's guidance scale (Flux-dev: embedded; SD3: CFG above 1; schnell: ignored). */
  guidanceScale: number;
  scheduler: SchedulerConfig;
  attention?: AttentionFn;
  onStep?: (report: StepReport) => void;
}

export function denoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: DenoiseOptions,
): Promise<DenoiseResult> {
  const attention = options.attention ?? localAttention;
  return runDenoiseLoop(loaded, inputs, {
    steps: options.steps,
    guidanceScale: options.guidanceScale,
    scheduler: options.scheduler,
    forward: (request, x, conditioning, t) => request.forward(x, conditioning, t, attention),
    cfg: null,
    onStep: options.onStep,
    logger,
  });
}
