/**
 * FluxPipeline.encode_prompt: CLIP-L (tokenizer / text_encoder, 77 tokens, no mask) gives the pooled
 * prompt embedding (pooler_output); T5 (tokenizer_2 / text_encoder_2, max_sequence_length tokens, no mask:
 * padding tokens attend and are attended) gives the per-token embeddings. prompt_2 is the prompt.
 */
import * as text from './prompt-encoder.js';

export const FLUX_TEXT = {
  tokenizers: ['tokenizer', 'tokenizer_2'],
  encoders: ['text_encoder', 'text_encoder_2'],
};

export function encodeFluxPrompts(stack: text.TextStack, request: text.PromptRequest): text.PromptTensors {
  const clipTokenizer = text.tokenizerOf(stack, 'tokenizer');
  const clip = text.tokenizeBatch(clipTokenizer, request.prompts, text.clipLength(clipTokenizer));
  const pooled = text.clipOf(stack, 'text_encoder').encode(clip.ids, clip.batch, clip.seq);
  pooled.lastHiddenState.release();
  const t5 = text.tokenizeBatch(
    text.tokenizerOf(stack, 'tokenizer_2'),
    request.prompts,
    request.maxSequenceLength,
  );
  const embeds = text.t5Of(stack, 'text_encoder_2').encode(t5.ids, t5.batch, t5.seq);
  return { prompt_embeds: embeds, pooled_prompt_embeds: pooled.pooled };
}
