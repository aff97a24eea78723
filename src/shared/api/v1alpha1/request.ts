import type { Int32 } from './primitives.js';

/**
 * The request shape each group is planned and warmed up for. Requests of another size are still
 * served, but the plan (sequence split, pipeline patches, memory) is chosen for this one.
 */
export interface RequestSpec {
  /**
   * Image height in pixels; a multiple of 16 (VAE factor 8 × patch size 2).
   * @default 1024
   * @minimum 256
   * @maximum 4096
   * @multipleOf 16
   */
  height: Int32;
  /**
   * Image width in pixels; a multiple of 16 (VAE factor 8 × patch size 2).
   * @default 1024
   * @minimum 256
   * @maximum 4096
   * @multipleOf 16
   */
  width: Int32;
  /**
   * Denoising steps per image (FLUX.1 [schnell] is made for 4, the others for 20–50).
   * @default 28
   * @minimum 1
   * @maximum 1000
   */
  steps: Int32;
  /**
   * Guidance scale. With true CFG it weighs the two branches; with distilled guidance it is a model
   * input.
   * @default 3.5
   * @minimum 0
   * @maximum 100
   */
  guidanceScale: number;
  /**
   * Largest batch of prompts one group runs at once; memory is planned for it.
   * @default 1
   * @minimum 1
   * @maximum 64
   */
  maxBatch: Int32;
}
