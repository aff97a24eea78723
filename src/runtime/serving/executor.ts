/**
 * The seam between the HTTP server and the model code. The group leader's rank-0 loop implements
 * GenerationExecutor; the server knows nothing about models, ranks or communicators.
 */
import type { RgbImage } from '../pipeline/image/pixels.js';

/** A dense little-endian f32 tensor, row-major, as it travels over HTTP. */
export interface F32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** One validated request. Tensors are keyed by their `tessera denoise --inputs` names. */
export interface GenerationRequest {
  readonly id: string;
  /** Samples in this request (the leading dimension of every tensor). */
  readonly batchSize: number;
  /** `latents`, `prompt_embeds`, `pooled_prompt_embeds`, optional `negative_*`: each [batchSize, ...]. */
  readonly tensors: ReadonlyMap<string, F32Tensor>;
  readonly steps: number;
  readonly guidanceScale: number;
  /** Passed through for executors that draw noise (none of the flow-match schedulers do); null: unset. */
  readonly seed: number | null;
  /**
   * What the request wants back: the denoised latents (`/v1/denoise`, the default) or, besides them, the
   * images the group's VAE decodes from them (`/v1/images/generations`).
   */
  readonly output?: 'latents' | 'images';
}

export interface GenerationResult {
  /** Denoised latents, same layout and shape as the request's `latents`. */
  readonly latents: F32Tensor;
  /** One 8-bit RGB image per sample, when the request's output is 'images'. */
  readonly images?: readonly RgbImage[];
}

/** What the group leader's rank-0 loop provides. */
export interface GenerationExecutor {
  /**
   * Runs one batch through the whole group and resolves with one result per request, in order. The
   * server calls it once at a time (the group is one SPMD program). Every request of a batch has the same
   * steps, guidance scale and per-sample tensor shapes, and their batch sizes sum to at most maxBatch.
   * `signal` aborts when every client of the batch has gone (deadline or disconnect); honouring it is
   * optional, and an executor that does must stop all ranks at the same step. Reject with
   * ExecutorFatalError when the group can no longer run (dead peer, communicator timeout, device lost).
   */
  run(batch: readonly GenerationRequest[], signal: AbortSignal): Promise<GenerationResult[]>;
  /** Largest number of samples (sum of request batch sizes) one run takes. */
  readonly maxBatch: number;
}

/**
 * The group cannot serve any more: the server stops taking requests and reports not-ready, so the
 * pod leaves the Service and the operator's failure policy restarts the group.
 */
export class ExecutorFatalError extends Error {
  override readonly name = 'ExecutorFatalError';
}
