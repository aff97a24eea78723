/**
 * The parts of prompt-to-image that run outside the denoising loop, for one pipeline folder: reading
 * what the request may ask for (defaults and checks), encoding prompts on the group leader, drawing the
 * seeded initial noise, and decoding the final latents to 8-bit images — on one process, or
 * patch-parallel over a communicator (parallel/patch-vae.ts). The denoising loop between encode and
 * decode is the runtime's (the one-process denoiser, a local group, or a serving group).
 */
import { join } from 'node:path';
import { ConfigFields, readJsonObject } from '../checkpoint/config-fields.js';
import { type ModelIndex, readModelIndex } from '../checkpoint/index.js';
import type { Communicator } from '../comm/index.js';
import { ops, Tensor } from '../native/index.js';
import { decodePatchParallel } from '../parallel/patch-vae.js';
import { type RgbImage, toRgbImages } from './image/pixels.js';
import { type ImageAsk, type ImageRequest, ImageRequestError, requestPng } from './image-request.js';
import { checkSeed, seededNoise } from './noise.js';
import {
  type PipelineFamily,
  type PipelineTransformerFacts,
  pipelineFamilyOfClass,
} from './pipeline-families.js';
import { loadTextStack, type PromptTensors, type TextStack } from './prompts/prompt-encoder.js';
import type { VaeDecoder } from './vae/decoder.js';
import { loadVaeDecoder } from './vae/load-vae.js';
import { wholeImage } from './vae/spatial-ops.js';
import { vaeScaleFactor } from './vae/vae-config.js';

export { type ImageAsk, type ImageRequest, ImageRequestError } from './image-request.js';

/** What a serving group accepts beyond the pipeline's own checks (its plan); unset: the pipeline's. */
export interface ImageLimits {
  /** Images per request (default 16). */
  maxN?: number;
  /** The only size accepted (a group runs its plan's size). */
  size?: { height: number; width: number };
  maxSteps?: number;
  defaultSteps?: number;
  defaultGuidanceScale?: number;
}

/** Longest prompt accepted, in characters (the tokenizers truncate long prompts anyway; this bounds the work). */
export const MAX_PROMPT_CHARS = 4000;

function readTransformerFacts(folder: string): { className: string; facts: PipelineTransformerFacts } {
  const path = join(folder, 'transformer', 'config.json');
  const raw = readJsonObject(path);
  const className = String(raw._class_name);
  const family = pipelineFamilyOfClass(className);
  const fields = new ConfigFields(raw, path);
  const defaults = family.transformerDefaults;
  return {
    className,
    facts: {
      inChannels: fields.count('in_channels', defaults.inChannels),
      patchSize: fields.count('patch_size', defaults.patchSize),
      guidanceEmbeds: family.readsGuidanceEmbeds ? fields.bool('guidance_embeds', false) : undefined,
    },
  };
}

export class ImagePipeline {
  private textStack: TextStack | null = null;
  private vae: VaeDecoder | null = null;

  private constructor(
    readonly folder: string,
    readonly index: ModelIndex,
    readonly family: PipelineFamily,
    readonly transformer: PipelineTransformerFacts,
  ) {}

  /** Reads model_index.json and the transformer's config; the encoders and the VAE load on first use. */
  static open(folder: string): ImagePipeline {
    const index = readModelIndex(folder);
    const { facts, className } = readTransformerFacts(folder);
    return new ImagePipeline(folder, index, pipelineFamilyOfClass(className), facts);
  }

  /** Whether `folder` is a whole prompt-to-image pipeline (the images API's need); false for anything else. */
  static isWhole(folder: string): boolean {
    try {
      return ImagePipeline.open(folder).missingComponents().length === 0;
    } catch {
      return false;
    }
  }

  /**
   * The components prompt-to-image needs that model_index.json leaves out (tokenizers, text encoders,
   * the VAE): empty for a whole pipeline; a transformer-only folder serves latents only.
   */
  missingComponents(): string[] {
    const { tokenizers, encoders } = this.family.text;
    return [...tokenizers, ...encoders, 'vae'].filter((name) => !this.index.components[name]);
  }

  /** Loads the tokenizers and text encoders (the group leader's job). */
  text(): TextStack {
    this.textStack ??= loadTextStack(
      this.folder,
      this.index,
      this.family.text.tokenizers,
      this.family.text.encoders,
    );
    return this.textStack;
  }

  decoder(): VaeDecoder {
    this.vae ??= loadVaeDecoder(join(this.folder, 'vae'));
    return this.vae;
  }

  get vaeScale(): number {
    return vaeScaleFactor(this.decoder().config);
  }

  /** The request with defaults filled in and every field checked; errors name the field. */
  resolve(ask: ImageAsk, limits: ImageLimits = {}): ImageRequest {
    const t = this.transformer;
    const refuse = (field: string, message: string, fix: string): never => {
      throw new ImageRequestError(field, message, fix);
    };
    const prompt = ask.prompt;
    if (typeof prompt !== 'string' || prompt.trim() === '') {
      refuse('prompt', 'prompt must be a non-empty string', 'describe the image to make');
    }
    if (prompt.length > MAX_PROMPT_CHARS) {
      const why = `prompt has ${prompt.length} characters; at most ${MAX_PROMPT_CHARS} are accepted`;
      refuse('prompt', why, `shorten it (the text encoders read the first 77 to 512 tokens anyway)`);
    }
    const negativePrompt = ask.negativePrompt ?? '';
    if (negativePrompt.length > MAX_PROMPT_CHARS) {
      refuse('negative_prompt', `negative_prompt has more than ${MAX_PROMPT_CHARS} characters`, 'shorten it');
    }
    const maxN = limits.maxN ?? 16;
    const n = ask.n ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > maxN) {
      refuse(
        'n',
        `n must be an integer from 1 to ${maxN}, got ${n}`,
        `ask for at most ${maxN} images per request`,
      );
    }
    const multiple = this.family.sizeMultiple(t, this.vaeScale);
    const height = ask.height ?? limits.size?.height ?? 1024;
    const width = ask.width ?? limits.size?.width ?? 1024;
    for (const [name, v] of [
      ['height', height],
      ['width', width],
    ] as const) {
      if (!Number.isInteger(v) || v < multiple || v % multiple !== 0 || v > 8192) {
        refuse(
          'size',
          `${name} ${v} must be a multiple of ${multiple} pixels from ${multiple} to 8192`,
          'e.g. 1024x1024',
        );
      }
    }
    if (limits.size && (limits.size.height !== height || limits.size.width !== width)) {
      const planned = `${limits.size.width}x${limits.size.height}`;
      refuse(
        'size',
        `this group runs ${planned} images only (its plan), got ${width}x${height}`,
        `send size "${planned}" or leave it out; other sizes need a DiTInference planned for them`,
      );
    }
    const steps = ask.steps ?? limits.defaultSteps ?? this.family.defaultSteps(t);
    const maxSteps = limits.maxSteps ?? 1000;
    if (!Number.isInteger(steps) || steps < 1 || steps > maxSteps) {
      refuse('steps', `steps must be an integer from 1 to ${maxSteps}, got ${steps}`, `1 to ${maxSteps}`);
    }
    const guidanceScale =
      ask.guidanceScale ?? limits.defaultGuidanceScale ?? this.family.defaultGuidanceScale(t);
    if (!Number.isFinite(guidanceScale) || guidanceScale < 0 || guidanceScale > 100) {
      refuse(
        'guidance_scale',
        `guidance_scale must be a number from 0 to 100, got ${guidanceScale}`,
        '0 to 100',
      );
    }
    const seed = ask.seed ?? Math.floor(Math.random() * 2 ** 32);
    try {
      checkSeed(seed);
    } catch (err) {
      refuse('seed', (err as Error).message, `an integer from 0 to ${Number.MAX_SAFE_INTEGER}`);
    }
    return { prompt, negativePrompt, n, height, width, steps, guidanceScale, seed };
  }

  /** The conditioning tensors for the request's n images (the leader's text encoders). */
  encode(
    request: ImageRequest,
    maxSequenceLength = this.family.defaultMaxSequenceLength(this.transformer),
  ): PromptTensors {
    return this.family.encode(this.text(), {
      prompts: new Array<string>(request.n).fill(request.prompt),
      negativePrompt: request.negativePrompt,
      withNegative: this.family.usesNegativePrompt(request.guidanceScale),
      maxSequenceLength,
    });
  }

  /** Noise [B, C, h, w] in a serving request's latents layout (FLUX packs 2×2 patches). */
  requestLatents(noise: Tensor): Tensor {
    return this.family.requestLatents(noise);
  }

  /** A serving result of a request of height × width pixels back to [B, C, h, w] for decode(). */
  imageLatents(latents: Tensor, height: number, width: number): Tensor {
    const vae = this.vaeScale;
    return this.family.imageLatents(latents, height / vae, width / vae);
  }

  /** The initial noise Diffusers draws for the request (f32, as a CPU pipeline draws it). */
  noise(request: ImageRequest): Tensor {
    const shape = this.family.latentShape(
      this.transformer,
      request.n,
      request.height,
      request.width,
      this.vaeScale,
    );
    return seededNoise({ seed: request.seed, shape, dtype: 'f32' });
  }

  /**
   * latents [B, C, h, w] (unpacked) → images: z = latents / scaling_factor + shift_factor, the VAE decoder
   * (patch-parallel when `comm` has more than one rank), then Diffusers' 8-bit conversion.
   */
  async decode(latents: Tensor, comm?: Communicator): Promise<RgbImage[]> {
    const decoder = this.decoder();
    const { scalingFactor, shiftFactor } = decoder.config;
    const z = ops.div(latents, Tensor.of([scalingFactor], [1]));
    if (shiftFactor !== null) ops.affine(z, 1, shiftFactor, z);
    const sample =
      comm && comm.size > 1
        ? await decodePatchParallel(decoder, z, comm)
        : await decoder.decode(z, wholeImage);
    z.release();
    const images = toRgbImages(sample);
    sample.release();
    return images;
  }

  /** A PNG with the request recorded in its text chunks. */
  png(image: RgbImage, request: ImageRequest, model: string): Uint8Array {
    return requestPng(image, request, model);
  }
}
