/**
 * The sigma schedule a pipeline asks the flow-match scheduler for (runtime.md §4.2–4.3):
 * - Flux: sigmas = linspace(1, 1/N, N) passed in, mu = calculate_shift(image tokens) (used only when the
 *   scheduler config has use_dynamic_shifting, as in FLUX.1-dev; schnell's static config ignores it);
 * - SD3: set_timesteps(N) with the static shift; mu only when the config asks for dynamic shifting.
 */

import type { FlowMatchEulerConfig } from '../scheduler/flow-match-config.js';
import {
  calculateShift,
  FlowMatchEulerScheduler,
  fluxPipelineSigmas,
  type Schedule,
} from '../scheduler/flow-match-euler.js';

export interface DenoiseSchedule extends Schedule {
  /** The shift parameter passed to the scheduler (null when none was). */
  mu: number | null;
}

export function denoiseSchedule(
  family: 'flux' | 'sd3',
  config: FlowMatchEulerConfig,
  steps: number,
  imageTokens: number,
): DenoiseSchedule {
  const scheduler = new FlowMatchEulerScheduler(config);
  if (family === 'flux') {
    const mu = calculateShift(imageTokens, config);
    return { ...scheduler.setTimesteps({ sigmas: fluxPipelineSigmas(steps), mu }), mu };
  }
  const mu = config.useDynamicShifting ? calculateShift(imageTokens, config) : null;
  return { ...scheduler.setTimesteps(mu === null ? { steps } : { steps, mu }), mu };
}
