/**
 * Data parallel (xdit.md §3.8): the prompts of a request are split across the group's replicas — replica
 * g takes the contiguous slice [g·⌈B/dp⌉, (g+1)·⌈B/dp⌉) — with no traffic while denoising; afterwards
 * each replica's representative sends its latents to the group's leader (rank 0), which joins them in
 * prompt order.
 */

import { coordsToRank, type Degrees } from '../../shared/plan/index.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import { type Device, ops, Tensor } from '../native/index.js';
import type { RankContext } from './context.js';

export class DataParallelError extends Error {
  override readonly name = 'DataParallelError';
}

/** [start, end) of the prompts replica `replica` of `dp` takes from a batch of `batch`. */
export function replicaSlice(batch: number, dp: number, replica: number): [number, number] {
  if (batch < dp) {
    throw new DataParallelError(
      `data parallel degree ${dp} needs at least ${dp} prompts in the batch, got ${batch}`,
    );
  }
  const per = Math.ceil(batch / dp);
  return [Math.min(batch, replica * per), Math.min(batch, (replica + 1) * per)];
}

function batchSlice(x: Tensor, start: number, end: number): Tensor {
  const view = x.narrow(0, start, end - start);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

/** This replica's share of the inputs: the latents and every per-sample tensor (shared ones stay whole). */
export function replicaInputs(inputs: DenoiseInputs, dp: number, replica: number): DenoiseInputs {
  if (dp === 1) return inputs;
  const [start, end] = replicaSlice(inputs.latents.size(0), dp, replica);
  if (end <= start) {
    throw new DataParallelError(
      `replica ${replica} of ${dp} has no prompts (batch ${inputs.latents.size(0)})`,
    );
  }
  const cut = (x: Tensor) => batchSlice(x, start, end);
  const samples = Object.fromEntries(Object.entries(inputs.samples).map(([name, t]) => [name, cut(t)]));
  return { ...inputs, latents: cut(inputs.latents), samples };
}

/** The rank that reports replica `replica`'s result: the first SP/CFG rank of its last pipeline stage. */
export function replicaRepresentative(degrees: Degrees, replica: number): number {
  return coordsToRank(
    { ulysses: 0, ring: 0, pipefusion: degrees.pipefusion - 1, cfg: 0, dataParallel: replica },
    degrees,
  );
}

const RESULT_TAG = 7100;

/**
 * Where the result travels: NCCL moves device memory only (a host tensor is refused), so over NCCL the
 * latents go up to the GPU to be sent and come down on the leader: one copy each way per request.
 */
function wireDevice(ctx: RankContext): Device {
  return ctx.world.backend === 'nccl' ? 'cuda' : 'cpu';
}

/**
 * Brings every replica's final latents to rank 0 and returns the whole batch there (null elsewhere).
 * `latents` is this rank's replica result where it is the representative (ignored on other ranks).
 */
export async function collectOnLeader(
  latents: Tensor | null,
  fullShape: readonly number[],
  ctx: RankContext,
): Promise<Tensor | null> {
  const { degrees } = ctx;
  const dp = degrees.dataParallel;
  const batch = fullShape[0] as number;
  const rest = fullShape.slice(1);
  const mine = replicaRepresentative(degrees, ctx.coords.dataParallel) === ctx.rank ? latents : null;
  const device = wireDevice(ctx);
  if (ctx.rank !== 0) {
    if (mine) {
      const message = mine.toDevice(device);
      try {
        await ctx.world.send(message, 0, RESULT_TAG + ctx.coords.dataParallel);
      } finally {
        if (message !== mine) message.release();
      }
    }
    return null;
  }
  const parts: Tensor[] = [];
  for (let g = 0; g < dp; g++) {
    const from = replicaRepresentative(degrees, g);
    const [start, end] = replicaSlice(batch, dp, g);
    if (from === 0) {
      if (!mine) throw new Error('rank 0 is its replica representative but holds no result');
      parts.push(mine);
      continue;
    }
    const received = Tensor.empty([end - start, ...rest], 'f32', device);
    await ctx.world.recv(received, from, RESULT_TAG + g);
    const part = received.toDevice('cpu');
    if (part !== received) received.release();
    parts.push(part);
  }
  if (parts.length === 1) return parts[0] as Tensor;
  const joined = ops.concat(parts, 0);
  for (const p of parts) if (p !== mine) p.release();
  return joined;
}
