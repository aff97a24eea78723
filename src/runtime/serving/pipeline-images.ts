/**
 * The image service over a Diffusers pipeline folder, for a group's plan: requests are checked against
 * the plan (its size, maxBatch, steps bound and defaults, CFG when the group runs the branches on
 * separate ranks), prompts are encoded as long as the plan's text tokens, and the seeded noise is laid
 * out as `/v1/denoise` takes latents, so the denoise executor runs an images request like any other.
 */

import type { Tensor } from '../native/index.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import type { ImagePipeline } from '../pipeline/image-pipeline.js';
import {
  type ImageAsk,
  type ImageRequest,
  ImageRequestError,
  requestPng,
} from '../pipeline/image-request.js';
import type { F32Tensor } from './executor.js';
import type { ImageService, PreparedImages } from './image-service.js';
import type { ServingLimits } from './limits.js';

function f32(tensor: Tensor): F32Tensor {
  return { shape: [...tensor.shape], data: tensor.toFloat32Array() };
}

export class PipelineImages implements ImageService {
  private readonly maxSequenceLength: number;

  constructor(
    private readonly pipeline: ImagePipeline,
    private readonly limits: ServingLimits,
    /** The plan's text tokens (plan.model.textTokens). */
    planTextTokens: number,
    /** Written into each PNG's `model` text chunk. */
    readonly model: string,
  ) {
    this.maxSequenceLength = pipeline.family.maxSequenceLengthFor(planTextTokens);
  }

  async prepare(ask: ImageAsk): Promise<PreparedImages> {
    const l = this.limits;
    const request = this.pipeline.resolve(ask, {
      maxN: l.maxBatch,
      size: { height: l.height, width: l.width },
      maxSteps: l.maxSteps,
      defaultSteps: l.defaultSteps,
      defaultGuidanceScale: l.defaultGuidanceScale,
    });
    if (l.cfgRequired && l.cfgAbove !== null && request.guidanceScale <= l.cfgAbove) {
      throw new ImageRequestError(
        'guidance_scale',
        `guidance_scale is ${request.guidanceScale}, but this group runs the two guidance branches in parallel (degrees.cfg = 2)`,
        `a guidance_scale above ${l.cfgAbove}, or a DiTInference whose plan has cfg 1`,
      );
    }
    const encoded = this.pipeline.encode(request, this.maxSequenceLength);
    const noise = this.pipeline.noise(request);
    const latents = this.pipeline.requestLatents(noise);
    const all: Record<string, Tensor> = { ...encoded, latents };
    const tensors = new Map<string, F32Tensor>();
    try {
      for (const spec of l.tensors) {
        const tensor = all[spec.name];
        if (!tensor) continue;
        const expected = [request.n, ...spec.dims];
        if (tensor.shape.join() !== expected.join()) {
          // The plan and the pipeline folder disagree (its text tokens, the transformer's widths).
          throw new Error(
            `the pipeline makes ${spec.name} [${tensor.shape.join(', ')}], but the plan's requests take [${expected.join(', ')}]`,
          );
        }
        tensors.set(spec.name, f32(tensor));
      }
    } finally {
      for (const t of new Set([noise, ...Object.values(all)])) t.release();
    }
    return { request, tensors };
  }

  png(image: RgbImage, request: ImageRequest): Uint8Array {
    return requestPng(image, request, this.model);
  }
}
