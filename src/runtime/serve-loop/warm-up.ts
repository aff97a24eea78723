/**
 * The leader's warm-up: one run of the plan's request shape through the real executor (so every rank
 * runs the same code path as for a request: broadcast, parallel denoise, collection) and a single step —
 * enough to touch every weight and open every communicator path once. With the images API on, the run
 * is an images request for a short prompt: the text encoders load and encode on the leader, and every
 * VAE rank loads the VAE and decodes once (one image per data-parallel replica), so a request's shapes that the plan and the pipeline folder
 * disagree on fail the start rather than the first request. Otherwise the inputs are zeros.
 */
import type {
  F32Tensor,
  GenerationExecutor,
  GenerationRequest,
  ImageService,
  ServingLimits,
} from '../serving/index.js';

export const WARM_UP_ID = 'warm-up';
const WARM_UP_PROMPT = 'warm-up';

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

async function warmUpImagesRequest(images: ImageService, n: number): Promise<GenerationRequest> {
  const { request, tensors } = await images.prepare({ prompt: WARM_UP_PROMPT, n, steps: 1, seed: 0 });
  const { guidanceScale, seed } = request;
  return { id: WARM_UP_ID, batchSize: n, tensors, steps: 1, guidanceScale, seed, output: 'images' };
}

export async function warmUp(
  executor: GenerationExecutor,
  limits: ServingLimits,
  images?: ImageService,
  /** Images of the images warm-up (one per data-parallel replica, so that every replica decodes). */
  imageCount = 1,
): Promise<number> {
  const started = performance.now();
  const request = images
    ? await warmUpImagesRequest(images, Math.min(imageCount, limits.maxBatch))
    : warmUpRequest(limits);
  await executor.run([request], new AbortController().signal);
  return performance.now() - started;
}
