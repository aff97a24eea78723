/**
 * GenerationExecutor over the runtime's denoiser: joins a batch into one set of DenoiseInputs, hands
 * it to the group (the leader loop broadcasts it to every rank and runs the parallel denoiser), and
 * splits the leader's latents back per request. Communicator failures mean the group is broken, so they
 * become ExecutorFatalError and take the leader out of service.
 */
import { CommError } from '../comm/errors.js';
import { type DenoiseInputs, inputTensors } from '../denoise/inputs.js';
import type { ModelFamily } from '../families/index.js';
import { Tensor } from '../native/index.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import { concatSamples, firstSamples, joinSamples, padSamples, splitSamples } from './batch-tensors.js';
import {
  ExecutorFatalError,
  type F32Tensor,
  type GenerationExecutor,
  type GenerationRequest,
  type GenerationResult,
} from './executor.js';

export interface GroupDenoiseOptions {
  steps: number;
  guidanceScale: number;
  /** One per request of the batch, in order (null: the request gave none). */
  seeds: readonly (number | null)[];
  /** The batch's request ids, in order: every rank logs them with its share of the run. */
  requestIds?: readonly string[];
}

/**
 * Runs one batch on every rank of the group and resolves, on the leader, with the denoised latents
 * [B, ...] in the layout of `inputs.latents`. The leader's serving loop implements it: broadcast the
 * inputs and options to all ranks, then every rank calls the parallel denoiser.
 */
export type GroupDenoise = (
  inputs: DenoiseInputs,
  options: GroupDenoiseOptions,
  signal: AbortSignal,
) => Promise<Tensor>;

/**
 * Decodes denoised latents (the samples of a batch's images requests, in the requests' latents layout)
 * to images on the group: the leader's serving loop sends them to the VAE ranks, each data-parallel
 * replica decoding its share patch-parallel. `requestId` names the requests, comma-separated.
 */
export type GroupDecode = (latents: Tensor, requestId: string) => Promise<RgbImage[]>;

export interface DenoiseExecutorOptions {
  /** Turns a batch's tensors into the denoiser's inputs. */
  family: ModelFamily;
  /** Latent grid of the plan's image size (height / vaeScaleFactor, width / vaeScaleFactor). */
  latentHeight: number;
  latentWidth: number;
  maxBatch: number;
  /**
   * The group's data-parallel degree: each replica needs prompts, so a batch is padded (repeating its
   * last sample) to a multiple of it and the padding's results are dropped. Default 1.
   */
  batchMultiple?: number;
  denoise: GroupDenoise;
  /** How a request for images gets them; absent: this group answers latents only. */
  decode?: GroupDecode;
  /** Which failures end the group; default: communicator errors (a dead or stuck peer). */
  isFatal?: (err: unknown) => boolean;
}

function joined(batch: readonly GenerationRequest[], name: string, samples: number): Tensor | undefined {
  const all = concatSamples(batch, name);
  if (!all) return undefined;
  const padded = padSamples(all, samples);
  return Tensor.fromArray(padded.data, padded.shape);
}

export class DenoiseExecutor implements GenerationExecutor {
  readonly maxBatch: number;
  private readonly isFatal: (err: unknown) => boolean;

  constructor(private readonly options: DenoiseExecutorOptions) {
    this.maxBatch = options.maxBatch;
    this.isFatal = options.isFatal ?? ((err) => err instanceof CommError);
  }

  async run(batch: readonly GenerationRequest[], signal: AbortSignal): Promise<GenerationResult[]> {
    const first = batch[0];
    if (!first) return [];
    if (batch.some((r) => r.steps !== first.steps || r.guidanceScale !== first.guidanceScale)) {
      throw new Error('a batch mixes steps or guidance scales (the batch key should prevent it)');
    }
    const samples = batch.reduce((n, r) => n + r.batchSize, 0);
    const multiple = this.options.batchMultiple ?? 1;
    const inputs = this.inputs(batch, Math.ceil(samples / multiple) * multiple);
    let latents: Tensor | undefined;
    try {
      latents = await this.options.denoise(
        inputs,
        {
          steps: first.steps,
          guidanceScale: first.guidanceScale,
          seeds: batch.map((r) => r.seed),
          requestIds: batch.map((r) => r.id),
        },
        signal,
      );
      const whole = firstSamples({ shape: [...latents.shape], data: latents.toFloat32Array() }, samples);
      const parts = splitSamples(
        whole,
        batch.map((r) => r.batchSize),
      );
      const images = await this.decodeImages(batch, parts);
      return parts.map((part, i) => {
        const own = images.get(i);
        return own ? { latents: part, images: own } : { latents: part };
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.isFatal(err)) throw new ExecutorFatalError(message, { cause: err });
      throw err;
    } finally {
      // Read the result before releasing anything: the group may hand back a view of an input.
      if (latents && latents !== inputs.latents) latents.release();
      releaseInputs(inputs);
    }
  }

  /**
   * The images of every request of the batch that asked for them, by request index: one decode for the
   * whole batch, so that the group's data-parallel replicas share it.
   */
  private async decodeImages(
    batch: readonly GenerationRequest[],
    parts: readonly F32Tensor[],
  ): Promise<Map<number, RgbImage[]>> {
    const wanted = batch.flatMap((r, i) => (r.output === 'images' ? [i] : []));
    const byRequest = new Map<number, RgbImage[]>();
    if (wanted.length === 0) return byRequest;
    if (!this.options.decode) throw new Error('this group answers latents only: it has no image decoder');
    const latents = joinSamples(wanted.map((i) => parts[i] as F32Tensor));
    const samples = latents.shape[0] ?? 0;
    const tensor = Tensor.fromArray(latents.data, latents.shape);
    let images: RgbImage[];
    try {
      images = await this.options.decode(
        tensor,
        wanted.map((i) => (batch[i] as GenerationRequest).id).join(','),
      );
    } finally {
      tensor.release();
    }
    if (images.length !== samples) {
      throw new Error(`the group decoded ${images.length} images for ${samples} samples`);
    }
    let at = 0;
    for (const i of wanted) {
      const count = (batch[i] as GenerationRequest).batchSize;
      byRequest.set(i, images.slice(at, at + count));
      at += count;
    }
    return byRequest;
  }

  private inputs(batch: readonly GenerationRequest[], samples: number): DenoiseInputs {
    const tensors = new Map<string, Tensor>();
    for (const name of batch[0]?.tensors.keys() ?? []) {
      const tensor = joined(batch, name, samples);
      if (tensor) tensors.set(name, tensor);
    }
    const { latentHeight, latentWidth } = this.options;
    return this.options.family.inputsFromRequest(tensors, { latentHeight, latentWidth });
  }
}

function releaseInputs(inputs: DenoiseInputs): void {
  for (const t of inputTensors(inputs)) t.release();
}
