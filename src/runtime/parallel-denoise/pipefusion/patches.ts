/**
 * PipeFusion's row-band patches (xdit.md §3.5–3.6): the image tokens cut into M bands of whole token
 * rows (row-major order makes each band contiguous), each band cut again into one sub-band per
 * sequence-parallel rank. And the patch-aware scheduler step: the update of one band of the latents at
 * the step's index (the step index advances only after the last patch, which passing it explicitly gives
 * for free), keyed by the patch so that a multistep scheduler can keep its history per band.
 */

import type { LatentLayout } from '../../families/index.js';
import type { Tensor } from '../../native/index.js';
import { type DenoiseScheduler, stepLatents } from '../../scheduler/scheduler.js';

export interface Patch {
  index: number;
  /** Image tokens [start, end) of the whole band. */
  start: number;
  end: number;
  /** Token rows in the band. */
  rows: number;
}

export function patches(tokenRows: number, cols: number, count: number): Patch[] {
  const rows = tokenRows / count;
  if (!Number.isInteger(rows))
    throw new RangeError(`${tokenRows} token rows do not cut into ${count} patches`);
  return Array.from({ length: count }, (_, index) => ({
    index,
    start: index * rows * cols,
    end: (index + 1) * rows * cols,
    rows,
  }));
}

/** Sub-band `rank` of `sp` of a band: [start, end) and its rows. */
export function subBand(p: Patch, sp: number, rank: number): { start: number; end: number; rows: number } {
  const size = (p.end - p.start) / sp;
  return { start: p.start + rank * size, end: p.start + (rank + 1) * size, rows: p.rows / sp };
}

/** The band of `latents` that patch tokens [start, end) cover, as a view. */
export function latentBand(latents: Tensor, layout: LatentLayout, start: number, end: number): Tensor {
  const from = (start / layout.tokensPerUnit) * layout.perUnit;
  const length = ((end - start) / layout.tokensPerUnit) * layout.perUnit;
  return latents.narrow(layout.axis, from, length);
}

/**
 * The scheduler's update of one band of the latents (a view), at the step's index, in float32, where
 * the latents live.
 */
export function stepBand(
  scheduler: DenoiseScheduler,
  index: number,
  band: Tensor,
  output: Tensor,
  region: number,
): void {
  if (output.numel !== band.numel) {
    throw new Error(`patch step: band has ${band.numel} values but the model output ${output.numel}`);
  }
  stepLatents(scheduler, index, band, output, region);
}
