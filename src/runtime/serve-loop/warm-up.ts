/**
 * The leader's warm-up: one run of the plan's request shape through the real executor (so every rank
 * runs the same code path as for a request: broadcast, parallel denoise, collection), with zero inputs
 * and a single step — enough to touch every weight and open every communicator path once.
 */
import type { F32Tensor, GenerationExecutor, GenerationRequest, ServingLimits } from '../serving/index.js';

export const WARM_UP_ID = 'warm-up';

export function warmUpRequest(limits: ServingLimits): GenerationRequest {
  const guidanceScale = limits.defaultGuidanceScale;
  const withGuidance = limits.cfgAbove !== null && guidanceScale > limits.cfgAbove;
  const tensors = new Map<string, F32Tensor>();
  for (const spec of limits.tensors) {
    if (spec.presence === 'optional' || (spec.presence === 'withGuidance' && !withGuidance)) continue;
    const shape = [1, ...spec.dims];
    tensors.set(spec.name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  }
  return { id: WARM_UP_ID, batchSize: 1, tensors, steps: 1, guidanceScale, seed: null };
}

export async function warmUp(executor: GenerationExecutor, limits: ServingLimits): Promise<number> {
  const started = performance.now();
  await executor.run([warmUpRequest(limits)], new AbortController().signal);
  return performance.now() - started;
}
