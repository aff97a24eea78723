/**
 * One transformer forward with sequence parallelism inside (xdit.md §3.1–3.4): every rank embeds the
 * full inputs (cheap, local), keeps its shard of the image tokens — and of the text tokens when they
 * divide the SP degree, else the whole text — runs the blocks with USP attention, applies the output
 * head to its shard and all-gathers the shards. At sp = 1 it is the plain forward.
 */

import { type FluxState, releaseState as releaseFlux } from '../models/flux/state.js';
import type { FluxInputs, FluxTransformer } from '../models/flux/transformer.js';
import { releaseState as releaseSd3, type Sd3State } from '../models/sd3/state.js';
import type { Sd3Inputs, Sd3Transformer } from '../models/sd3/transformer.js';
import { ops, type Tensor } from '../native/index.js';
import { runProgram } from '../parallel/comm-steps.js';
import { shardRange, type TextSharding, textShardingFor } from '../parallel/joint-text.js';
import { tokenSlice } from '../parallel/sequence-shard.js';
import { gatherSequenceShards } from '../parallel/sp-gather.js';
import { type RankContext, sequenceParallelAttention, spDegree, spLayout, spRank } from './context.js';

export class SequenceParallelError extends Error {
  override readonly name = 'SequenceParallelError';
}

/** Rows [start, end) of a 2-D table (the rotary tables are [tokens, head_dim]). */
function rows(x: Tensor, start: number, end: number): Tensor {
  const view = x.narrow(0, start, end - start);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

function replace(old: Tensor, next: Tensor): Tensor {
  old.release();
  return next;
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

export async function fluxForward(
  model: FluxTransformer,
  inputs: FluxInputs,
  ctx: RankContext,
): Promise<Tensor> {
  const sp = spDegree(ctx);
  const textTokens = inputs.encoderHiddenStates.size(1);
  const sharding = textShardingFor(textTokens, sp, 1);
  if (sp === 1) return model.forward(inputs);
  const imageTokens = inputs.hiddenStates.size(1);
  if (imageTokens % sp !== 0) {
    throw new SequenceParallelError(
      `sequence parallel degree ${sp} (ulysses × ring) must divide the ${imageTokens} image tokens`,
    );
  }
  const state = model.embed(inputs);
  try {
    shardFluxState(state, textTokens, imageTokens, sharding, sp, spRank(ctx));
    const all = { fromBlock: 0, toBlock: model.blockCount };
    await model.runBlocks(state, all, sequenceParallelAttention(ctx, sharding));
    const local = model.head(state);
    const full = await gatherAlong(local, 1, ctx);
    local.release();
    return full;
  } finally {
    releaseFlux(state);
  }
}

function shardFluxState(
  state: FluxState,
  textTokens: number,
  imageTokens: number,
  sharding: TextSharding,
  sp: number,
  s: number,
): void {
  const { streams } = state;
  if (streams.kind !== 'separate') throw new Error('Flux state must be sharded before the first block');
  const [is, ie] = shardRange(imageTokens, sp, s, 'image tokens');
  const [ts, te] = sharding === 'split' ? shardRange(textTokens, sp, s, 'text tokens') : [0, textTokens];
  streams.image = replace(streams.image, tokenSlice(streams.image, is, ie));
  streams.text = replace(streams.text, tokenSlice(streams.text, ts, te));
  // Rotary rows follow the local joint sequence [text shard; image shard].
  const cut = (table: Tensor) => {
    const text = rows(table, ts, te);
    const image = rows(table, textTokens + is, textTokens + ie);
    const joined = ops.concat([text, image], 0);
    text.release();
    image.release();
    return replace(table, joined);
  };
  state.rope = { cos: cut(state.rope.cos), sin: cut(state.rope.sin) };
}

export async function sd3Forward(
  model: Sd3Transformer,
  inputs: Sd3Inputs,
  ctx: RankContext,
): Promise<Tensor> {
  const sp = spDegree(ctx);
  const textTokens = inputs.encoderHiddenStates.size(1);
  const sharding = textShardingFor(textTokens, sp, 1);
  if (sp === 1) return model.forward(inputs);
  const state = model.embed(inputs);
  try {
    if (state.rows % sp !== 0) {
      throw new SequenceParallelError(
        `sequence parallel degree ${sp} (ulysses × ring) must divide the ${state.rows} latent patch rows ` +
          '(latent height / patch size)',
      );
    }
    shardSd3State(state, textTokens, sharding, sp, spRank(ctx));
    const all = { fromBlock: 0, toBlock: model.blockCount };
    await model.runBlocks(state, all, sequenceParallelAttention(ctx, sharding));
    // The head unpatchifies this rank's band of patch rows: [B, C, H/sp, W].
    const local = model.head(state);
    const full = await gatherAlong(local, 2, ctx);
    local.release();
    return full;
  } finally {
    releaseSd3(state);
  }
}

function shardSd3State(
  state: Sd3State,
  textTokens: number,
  sharding: TextSharding,
  sp: number,
  s: number,
): void {
  const imageTokens = state.image.size(1);
  const [is, ie] = shardRange(imageTokens, sp, s, 'image tokens');
  state.image = replace(state.image, tokenSlice(state.image, is, ie));
  if (state.text && sharding === 'split') {
    const [ts, te] = shardRange(textTokens, sp, s, 'text tokens');
    state.text = replace(state.text, tokenSlice(state.text, ts, te));
  }
  // Row-major patch order: an equal share of tokens is a band of whole patch rows.
  state.rows = state.rows / sp;
}
