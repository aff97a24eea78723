/**
 * StableDiffusion3Pipeline.encode_prompt: CLIP-L and CLIP-G (77 tokens each, no mask) give their
 * penultimate hidden states (hidden_states[-2]) and projected pooled outputs; T5 (max_sequence_length,
 * no mask) its last hidden state. The CLIP states are joined on features (L ⊕ G), zero-padded to T5's
 * width and put before the T5 tokens; the pooled embedding is L ⊕ G. The negative prompt ("" unless
 * given) is encoded the same way when classifier-free guidance runs.
 */
import { ops, Tensor } from '../../native/index.js';
import type { TextStack } from './prompt-encoder.js';
import {
  clipLength,
  clipOf,
  type PromptRequest,
  type PromptTensors,
  t5Of,
  tokenizeBatch,
  tokenizerOf,
} from './prompt-encoder.js';

export const SD3_TEXT = {
  tokenizers: ['tokenizer', 'tokenizer_2', 'tokenizer_3'],
  encoders: ['text_encoder', 'text_encoder_2', 'text_encoder_3'],
};

function clipBranch(stack: TextStack, tokenizer: string, encoder: string, prompts: readonly string[]) {
  const tok = tokenizerOf(stack, tokenizer);
  const { ids, batch, seq } = tokenizeBatch(tok, prompts, clipLength(tok));
  const out = clipOf(stack, encoder).encode(ids, batch, seq, { penultimate: true });
  out.lastHiddenState.release();
  out.pooled.release();
  if (!out.textEmbeds || !out.penultimate)
    throw new Error(`${encoder} must be a CLIPTextModelWithProjection`);
  return { states: out.penultimate, pooled: out.textEmbeds };
}

function encode(stack: TextStack, prompts: readonly string[], maxSequenceLength: number) {
  const l = clipBranch(stack, 'tokenizer', 'text_encoder', prompts);
  const g = clipBranch(stack, 'tokenizer_2', 'text_encoder_2', prompts);
  const t5ids = tokenizeBatch(tokenizerOf(stack, 'tokenizer_3'), prompts, maxSequenceLength);
  const t5 = t5Of(stack, 'text_encoder_3').encode(t5ids.ids, t5ids.batch, t5ids.seq);
  const clip = ops.concat([l.states, g.states], 2);
  const [batch, tokens, clipWidth] = clip.shape as [number, number, number];
  const width = t5.size(2);
  if (clipWidth > width) {
    throw new Error(
      `CLIP-L + CLIP-G width ${clipWidth} exceeds T5's ${width}; SD3 pads the CLIP states to T5's width`,
    );
  }
  const padded =
    clipWidth === width ? clip : ops.concat([clip, Tensor.zeros([batch, tokens, width - clipWidth])], 2);
  const embeds = ops.concat([padded, t5], 1);
  const pooled = ops.concat([l.pooled, g.pooled], 1);
  for (const t of new Set([l.states, g.states, l.pooled, g.pooled, clip, padded, t5])) t.release();
  return { embeds, pooled };
}

export function encodeSd3Prompts(stack: TextStack, request: PromptRequest): PromptTensors {
  const positive = encode(stack, request.prompts, request.maxSequenceLength);
  const out: PromptTensors = { prompt_embeds: positive.embeds, pooled_prompt_embeds: positive.pooled };
  if (request.withNegative) {
    const negative = encode(
      stack,
      request.prompts.map(() => request.negativePrompt),
      request.maxSequenceLength,
    );
    out.negative_prompt_embeds = negative.embeds;
    out.negative_pooled_prompt_embeds = negative.pooled;
  }
  return out;
}
