/**
 * StableDiffusion3Pipeline.encode_prompt: CLIP-L and CLIP-G (77 tokens each, no mask) give their
 * penultimate hidden states (hidden_states[-2]) and projected pooled outputs; T5 (max_sequence_length,
 * no mask) its last hidden state. The CLIP states are joined on features (L ⊕ G), zero-padded to T5's
 * width and put before the T5 tokens; the pooled embedding is L ⊕ G. The negative prompt ("" unless
 * given) is encoded the same way when classifier-free guidance runs.
 */
import { ops, Tensor } from '../../native/index.js';
import * as text from './prompt-encoder.js';

export const SD3_TEXT = {
  tokenizers: ['tokenizer', 'tokenizer_2', 'tokenizer_3'],
  encoders: ['text_encoder', 'text_encoder_2', 'text_encoder_3'],
};

function clipBranch(stack: text.TextStack, tokenizer: string, encoder: string, prompts: readonly string[]) {
  const tok = text.tokenizerOf(stack, tokenizer);
  const { ids, batch, seq } = text.tokenizeBatch(tok, prompts, text.clipLength(tok));
  const out = text.clipOf(stack, encoder).encode(ids, batch, seq, { penultimate: true });
  out.lastHiddenState.release();
  out.pooled.release();
  if (!out.textEmbeds || !out.penultimate)
    throw new Error(`${encoder} must be a CLIPTextModelWithProjection`);
  return { states: out.penultimate, pooled: out.textEmbeds };
}

function encode(stack: text.TextStack, prompts: readonly string[], maxSequenceLength: number) {
  const l = clipBranch(stack, 'tokenizer', 'text_encoder', prompts);
  const g = clipBranch(stack, 'tokenizer_2', 'text_encoder_2', prompts);
  const t5ids = text.tokenizeBatch(text.tokenizerOf(stack, 'tokenizer_3'), prompts, maxSequenceLength);
  const t5 = text.t5Of(stack, 'text_encoder_3').encode(t5ids.ids, t5ids.batch, t5ids.seq);
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

export function encodeSd3Prompts(stack: text.TextStack, request: text.PromptRequest): text.PromptTensors {
  return text.withNegative(request, (prompts) => {
    const { embeds, pooled } = encode(stack, prompts, request.maxSequenceLength);
    return { prompt_embeds: embeds, pooled_prompt_embeds: pooled };
  });
}
