/**
 * PixArtSigmaPipeline.encode_prompt: each prompt lower-cased and stripped (its caption cleaning without
 * bs4/ftfy, which Diffusers skips when they are missing), T5 over max_sequence_length tokens (300) WITH
 * the tokenizer's attention mask; the mask goes to the transformer too. The negative prompt ("" by
 * default) likewise, padded to the same length, when classifier-free guidance runs.
 */
import { Tensor } from '../../native/index.js';
import { pythonLowerStrip } from '../tokenizers/prompt-tokenizer.js';
import * as text from './prompt-encoder.js';

export const PIXART_TEXT = { tokenizers: ['tokenizer'], encoders: ['text_encoder'] };

function encode(stack: text.TextStack, prompts: readonly string[], maxLength: number) {
  const { ids, mask, batch, seq } = text.tokenizeBatch(
    text.tokenizerOf(stack, 'tokenizer'),
    prompts.map(pythonLowerStrip),
    maxLength,
  );
  const embeds = text.t5Of(stack, 'text_encoder').encode(ids, batch, seq, mask);
  return { embeds, mask: Tensor.fromArray(Float32Array.from(mask), [batch, seq]) };
}

export function encodePixartPrompts(stack: text.TextStack, request: text.PromptRequest): text.PromptTensors {
  return text.withNegative(request, (prompts) => {
    const { embeds, mask } = encode(stack, prompts, request.maxSequenceLength);
    return { prompt_embeds: embeds, prompt_attention_mask: mask };
  });
}
