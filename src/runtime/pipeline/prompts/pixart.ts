/**
 * PixArtSigmaPipeline.encode_prompt: each prompt lower-cased and stripped (its caption cleaning without
 * bs4/ftfy, which Diffusers skips when they are missing), T5 over max_sequence_length tokens (300) WITH
 * the tokenizer's attention mask; the mask goes to the transformer too. The negative prompt ("" by
 * default) likewise, padded to the same length, when classifier-free guidance runs.
 */
import { Tensor } from '../../native/index.js';
import { pythonLowerStrip } from '../tokenizers/prompt-tokenizer.js';
import type { TextStack } from './prompt-encoder.js';
import {
  type PromptRequest,
  type PromptTensors,
  t5Of,
  tokenizeBatch,
  tokenizerOf,
} from './prompt-encoder.js';

export const PIXART_TEXT = { tokenizers: ['tokenizer'], encoders: ['text_encoder'] };

function encode(stack: TextStack, prompts: readonly string[], maxLength: number) {
  const { ids, mask, batch, seq } = tokenizeBatch(
    tokenizerOf(stack, 'tokenizer'),
    prompts.map(pythonLowerStrip),
    maxLength,
  );
  const embeds = t5Of(stack, 'text_encoder').encode(ids, batch, seq, mask);
  return { embeds, mask: Tensor.fromArray(Float32Array.from(mask), [batch, seq]) };
}

export function encodePixartPrompts(stack: TextStack, request: PromptRequest): PromptTensors {
  const positive = encode(stack, request.prompts, request.maxSequenceLength);
  const out: PromptTensors = { prompt_embeds: positive.embeds, prompt_attention_mask: positive.mask };
  if (request.withNegative) {
    const negative = encode(
      stack,
      request.prompts.map(() => request.negativePrompt),
      request.maxSequenceLength,
    );
    out.negative_prompt_embeds = negative.embeds;
    out.negative_prompt_attention_mask = negative.mask;
  }
  return out;
}
