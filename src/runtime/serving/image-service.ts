/**
 * The seam between the images route and the pipeline: the route parses and queues, the service knows
 * the model. It checks a request against the pipeline and the plan, encodes its prompts (the text
 * encoders run on the group leader's rank thread) and draws its seeded noise, so the result is a request
 * the denoise executor runs like any other; and it turns decoded images into PNGs. Types only here and
 * in what they import, so the serving thread holds them without loading native code.
 */
import type { RgbImage } from '../pipeline/image/pixels.js';
import type { ImageAsk, ImageRequest } from '../pipeline/image-request.js';
import type { F32Tensor } from './executor.js';

export interface PreparedImages {
  /** The request with every default filled in (seed drawn when none was given). */
  readonly request: ImageRequest;
  /** The denoiser's inputs, named as `/v1/denoise` names them: `latents` (the noise) and the embeddings. */
  readonly tensors: ReadonlyMap<string, F32Tensor>;
}

export interface ImageService {
  /** The name each PNG records as its `model`. */
  readonly model: string;
  /** Checks and encodes; rejects with ImageRequestError naming the field at fault. */
  prepare(ask: ImageAsk): Promise<PreparedImages>;
  /** A PNG with the request in its text chunks. */
  png(image: RgbImage, request: ImageRequest): Uint8Array;
}
