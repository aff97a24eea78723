/**
 * One transformer forward with sequence parallelism inside (xdit.md §3.1–3.4), for any family: every
 * rank embeds the full inputs (cheap, local), keeps its shard of the image tokens — and of the joint text
 * tokens when they divide the SP degree, else the whole text — runs the blocks with USP attention,
 * applies the output head to its shard and all-gathers the shards along the axis the family's head
 * lays them on. At sp = 1 it is the plain forward.
 */

import type { Conditioning, FamilyRequest } from '../families/index.js';
import { ops, type Tensor } from '../native/index.js';
import { runProgram } from '../parallel/comm-steps.js';
import { shardRange, textShardingFor } from '../parallel/joint-text.js';
import { gatherSequenceShards } from '../parallel/sp-gather.js';
import { type RankContext, sequenceParallelAttention, spDegree, spLayout, spRank } from './context.js';

export class SequenceParallelError extends Error {
  override readonly name = 'SequenceParallelError';
}

/** Gathers per-rank results [B, ...] along `axis` (in SP-rank order) into the full tensor. */
async function gatherAlong(local: Tensor, axis: number, ctx: RankContext): Promise<Tensor> {
  const comms = { ulysses: ctx.axes.ulysses, ring: ctx.axes.ring };
  const stacked = await runProgram(gatherSequenceShards(local, spLayout(ctx)), comms, ctx.clock);
  const parts = stacked.split(stacked.size(0), 0).map((p) => p.reshape(local.shape));
  const full = ops.concat(parts, axis);
  for (const p of parts) p.release();
  stacked.release();
  return full;
}

export async function spForward(
  request: FamilyRequest,
  latents: Tensor,
  conditioning: Conditioning,
  t: number,
  ctx: RankContext,
  blockCount: number,
): Promise<Tensor> {
  const sp = spDegree(ctx);
  const { geometry } = request;
  const textTokens = geometry.jointTextTokens;
  const sharding = textShardingFor(textTokens, sp, 1);
  if (sp === 1) return request.forward(latents, conditioning, t, sequenceParallelAttention(ctx, sharding));
  if (geometry.rows % sp !== 0) {
    throw new SequenceParallelError(
      `sequence parallel degree ${sp} (ulysses × ring) must divide the ${geometry.rows} rows of image tokens ` +
        '(latent height / patch size)',
    );
  }
  const state = request.embed(latents, conditioning, t);
  try {
    const s = spRank(ctx);
    const [is, ie] = shardRange(geometry.imageTokens, sp, s, 'image tokens');
    const text = sharding === 'split' && textTokens > 0 ? shardRange(textTokens, sp, s, 'text tokens') : null;
    request.select(
      state,
      { start: is, end: ie },
      geometry.rows / sp,
      text ? { start: text[0], end: text[1] } : null,
    );
    await request.runBlocks(
      state,
      { fromBlock: 0, toBlock: blockCount },
      sequenceParallelAttention(ctx, sharding),
    );
    const local = request.head(state);
    const full = await gatherAlong(local, geometry.headAxis, ctx);
    local.release();
    return full;
  } finally {
    request.release(state);
  }
}
