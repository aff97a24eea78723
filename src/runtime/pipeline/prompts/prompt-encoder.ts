/**
 * Prompts → the conditioning tensors a family's transformer takes, as the family's Diffusers pipeline
 * computes them (encode_prompt). One module per family (flux.ts, sd3.ts, pixart.ts); this file holds
 * what they share: the request, the loading of a pipeline's tokenizer and text-encoder folders, and
 * running one tokenizer + encoder over a batch of prompts.
 */
import { join } from 'node:path';
import type { ModelIndex } from '../../checkpoint/index.js';
import { CheckpointConfigError } from '../../checkpoint/index.js';
import type { Tensor } from '../../native/index.js';
import { loadTextEncoder, type TextEncoder } from '../text-encoders/load-text-encoder.js';
import { PromptTokenizer, type TokenizedPrompt } from '../tokenizers/prompt-tokenizer.js';

export interface PromptRequest {
  /** One prompt per image of the batch (num_images_per_prompt already expanded). */
  prompts: readonly string[];
  /** Diffusers' default when classifier-free guidance runs: "". */
  negativePrompt: string;
  /** Whether the family's guidance runs an unconditional branch (its negative embeddings are needed). */
  withNegative: boolean;
  /** T5 tokens (FLUX 512, SD3 256, PixArt-Σ 300 by default). */
  maxSequenceLength: number;
}

/** Conditioning tensors by the names the family's denoise inputs use (e.g. prompt_embeds). */
export type PromptTensors = Record<string, Tensor>;

export interface TextStack {
  tokenizers: Record<string, PromptTokenizer>;
  encoders: Record<string, TextEncoder>;
}

/**
 * Loads the tokenizer / text-encoder folders named (e.g. "tokenizer", "text_encoder_2"); model_index.json
 * must list each, so a pipeline without them fails naming the component.
 */
export function loadTextStack(
  folder: string,
  index: ModelIndex,
  tokenizers: string[],
  encoders: string[],
): TextStack {
  const require = (name: string) => {
    if (!index.components[name]) {
      throw new CheckpointConfigError(
        `${join(folder, 'model_index.json')} lists no "${name}"; ${index.pipelineClass} needs it to encode prompts`,
      );
    }
    return join(folder, name);
  };
  return {
    tokenizers: Object.fromEntries(tokenizers.map((n) => [n, PromptTokenizer.load(require(n))])),
    encoders: Object.fromEntries(encoders.map((n) => [n, loadTextEncoder(require(n))])),
  };
}

/** The prompts' ids and masks as [B·S] arrays. */
export function tokenizeBatch(tokenizer: PromptTokenizer, prompts: readonly string[], maxLength: number) {
  const rows: TokenizedPrompt[] = prompts.map((p) => tokenizer.encode(p, maxLength));
  const ids = new Int32Array(prompts.length * maxLength);
  const mask = new Uint8Array(prompts.length * maxLength);
  rows.forEach((row, b) => {
    ids.set(row.ids, b * maxLength);
    mask.set(row.mask, b * maxLength);
  });
  return { ids, mask, batch: prompts.length, seq: maxLength };
}

export function t5Of(stack: TextStack, name: string) {
  const encoder = stack.encoders[name];
  if (encoder?.kind !== 't5') throw new CheckpointConfigError(`${name} must be a T5EncoderModel`);
  return encoder.model;
}

export function clipOf(stack: TextStack, name: string) {
  const encoder = stack.encoders[name];
  if (encoder?.kind !== 'clip') throw new CheckpointConfigError(`${name} must be a CLIP text model`);
  return encoder.model;
}

export function tokenizerOf(stack: TextStack, name: string): PromptTokenizer {
  const tokenizer = stack.tokenizers[name];
  if (!tokenizer) throw new Error(`tokenizer ${name} was not loaded`);
  return tokenizer;
}

/** CLIP's own max length: tokenizer_config's model_max_length (77 for the released ones). */
export function clipLength(tokenizer: PromptTokenizer): number {
  return tokenizer.modelMaxLength ?? 77;
}

/**
 * The positive prompts' tensors, and when guidance needs them the negative prompt's (repeated per image)
 * under the pipeline's `negative_` names.
 */
export function withNegative(
  request: PromptRequest,
  encode: (prompts: readonly string[]) => PromptTensors,
): PromptTensors {
  const out = encode(request.prompts);
  if (!request.withNegative) return out;
  const negative = encode(request.prompts.map(() => request.negativePrompt));
  for (const [name, tensor] of Object.entries(negative)) out[`negative_${name}`] = tensor;
  return out;
}
