/**
 * What one rank knows about its place in the group while denoising: its mesh coordinates, the
 * communicators per axis, and the sequence-parallel layout derived from them.
 */

import type { Logger } from '../../shared/log.js';
import type { Degrees, MeshAxis, MeshCoords } from '../../shared/plan/index.js';
import type { Communicator } from '../comm/index.js';
import type { CfgAxis } from '../guidance/guided-pass.js';
import type { AttentionFn } from '../models/common/attention.js';
import { localAttention } from '../models/common/attention.js';
import { Tensor } from '../native/index.js';
import { type CommClock, runProgram, type SpLayout } from '../parallel/comm-steps.js';
import type { TextSharding } from '../parallel/joint-text.js';
import { uspAttention } from '../parallel/usp-attention.js';

export interface RankContext {
  rank: number;
  degrees: Degrees;
  coords: MeshCoords;
  world: Communicator;
  axes: Record<MeshAxis, Communicator>;
  logger: Logger;
  /** Accumulates the time this rank waits on communication. */
  clock: CommClock;
}

export function spDegree(ctx: RankContext): number {
  return ctx.degrees.ulysses * ctx.degrees.ring;
}

/** s = u + U·r: the shard of the sequence this rank holds. */
export function spRank(ctx: RankContext): number {
  return ctx.coords.ulysses + ctx.degrees.ulysses * ctx.coords.ring;
}

export function spLayout(ctx: RankContext): SpLayout {
  return {
    ulysses: { size: ctx.degrees.ulysses, rank: ctx.coords.ulysses },
    ring: { size: ctx.degrees.ring, rank: ctx.coords.ring },
  };
}

/** The attention a model block calls on this rank: USP over the SP axes, or local attention at sp = 1. */
export function sequenceParallelAttention(ctx: RankContext, sharding: TextSharding): AttentionFn {
  if (spDegree(ctx) === 1) return localAttention;
  const layout = spLayout(ctx);
  const comms = { ulysses: ctx.axes.ulysses, ring: ctx.axes.ring };
  return (q, k, v, site) => runProgram(uspAttention(q, k, v, site, layout, sharding), comms, ctx.clock);
}

/**
 * This rank's place on the CFG axis, gathering [CFG rank 0's; CFG rank 1's] along the batch, where the
 * branch outputs are (on a GPU the combine that follows runs there, and NCCL moves device memory only).
 */
export function cfgAxis(ctx: RankContext): CfgAxis {
  return {
    degree: ctx.degrees.cfg,
    rank: ctx.coords.cfg,
    async gather(mine) {
      const dense = mine.contiguous();
      const shape = [ctx.degrees.cfg * dense.size(0), ...dense.shape.slice(1)];
      const both = Tensor.empty(shape, dense.dtype, dense.device);
      const axis = ctx.axes.cfg;
      if (axis.ordersOnDevice) {
        // The combine that follows waits for the gather on the device; parallelDenoise settles it.
        await ctx.clock.order(axis.allGatherOnDevice(dense, both));
      } else {
        await ctx.clock.wait(axis.allGather(dense, both));
      }
      if (dense !== mine) dense.release();
      return both;
    },
  };
}
