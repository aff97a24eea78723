/**
 * The pieces the text encoders share: the token embedding lookup, and multi-head attention with an
 * additive bias on the scores (T5's relative position bias and padding mask, CLIP's causal mask), which
 * the fused attention kernel has no input for. Scores are materialised: text sequences are short (≤ 512).
 */
import { ops, Tensor } from '../../native/index.js';

export class TextEncoderInputError extends Error {
  override readonly name = 'TextEncoderInputError';
}

/** The additive mask value transformers uses (torch.finfo(float32).min). */
export const MASKED = -3.4028234663852886e38;

/** Rows of `table` [V, D] for `ids` [B, S] → [B, S, D]. */
export function embed(table: Tensor, ids: Int32Array, batch: number, seq: number, what: string): Tensor {
  const [vocab, width] = table.shape as [number, number];
  if (ids.length !== batch * seq) {
    throw new TextEncoderInputError(`${what}: ${ids.length} ids for a [${batch}, ${seq}] batch`);
  }
  const out = Tensor.empty([batch * seq, width]);
  ids.forEach((id, i) => {
    if (!(id >= 0 && id < vocab)) {
      throw new TextEncoderInputError(
        `${what}: token id ${id} is outside the vocabulary of ${vocab} (tokenizer and text encoder do not match)`,
      );
    }
    const row = out.narrow(0, i, 1);
    const source = table.narrow(0, id, 1);
    row.copyFrom(source);
    row.release();
    source.release();
  });
  const shaped = out.reshape([batch, seq, width]);
  out.release();
  return shaped;
}

/**
 * softmax(scale·q·kᵀ + bias)·v with q, k, v [B, S, H, Dh] and bias broadcastable to [B, H, S, S] (or
 * null) → [B, S, H·Dh].
 */
export function biasedAttention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, scale: number): Tensor {
  const [batch, seq, heads, headDim] = q.shape as [number, number, number, number];
  const qh = ops.permute(q, [0, 2, 1, 3]);
  const kh = ops.permute(k, [0, 2, 1, 3]);
  const vh = ops.permute(v, [0, 2, 1, 3]);
  const scores = ops.matmul(qh, kh, { transposeB: true });
  if (scale !== 1) ops.affine(scores, scale, 0, scores);
  if (bias) ops.add(scores, bias, scores);
  ops.softmax(scores, scores);
  const context = ops.matmul(scores, vh);
  const merged = ops.permute(context, [0, 2, 1, 3]).reshape([batch, seq, heads * headDim]);
  for (const t of [qh, kh, vh, scores, context]) t.release();
  return merged;
}

/** A projection reshaped to heads: [B, S, D] → [B, S, H, D/H]. */
export function toHeads(x: Tensor, heads: number): Tensor {
  const [batch, seq, width] = x.shape as [number, number, number];
  const shaped = x.reshape([batch, seq, heads, width / heads]);
  x.release();
  return shaped;
}
