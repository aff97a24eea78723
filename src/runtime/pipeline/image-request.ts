/**
 * What an image request is, apart from any model: what a caller asks for, the request once every field
 * is decided, the error naming the field at fault, and the PNG that records the request. Plain data and
 * pure functions (no native code), so the leader's serving thread uses them as the rank's thread does.
 */

import type { RgbImage } from './image/pixels.js';
import { encodePng } from './image/png.js';

export class ImageRequestError extends Error {
  override readonly name = 'ImageRequestError';
  constructor(
    /** The request field at fault (prompt, size, n, steps, …). */
    readonly field: string,
    message: string,
    /** What would be accepted. */
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** What a caller asks for; unset fields take the pipeline's defaults. */
export interface ImageAsk {
  prompt: string;
  negativePrompt?: string;
  n?: number;
  height?: number;
  width?: number;
  steps?: number;
  guidanceScale?: number;
  seed?: number;
}

/** A request with every field decided. */
export interface ImageRequest {
  prompt: string;
  negativePrompt: string;
  n: number;
  height: number;
  width: number;
  steps: number;
  guidanceScale: number;
  seed: number;
}

/** A PNG with the request recorded in its text chunks (`model`: the name to record). */
export function requestPng(image: RgbImage, request: ImageRequest, model: string): Uint8Array {
  return encodePng(image, {
    prompt: request.prompt,
    ...(request.negativePrompt ? { negative_prompt: request.negativePrompt } : {}),
    seed: String(request.seed),
    steps: String(request.steps),
    guidance: String(request.guidanceScale),
    size: `${request.width}x${request.height}`,
    model,
    software: 'Tessera',
  });
}
