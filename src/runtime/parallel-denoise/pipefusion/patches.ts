/**
 * PipeFusion's row-band patches (xdit.md §3.5–3.6): the image tokens cut into M bands of whole token
 * rows (row-major order makes each band contiguous), each band cut again into one sub-band per
 * sequence-parallel rank. And the patch-aware scheduler step: the Euler update of one band of the latents,
 * at the step's index (the step index advances only after the last patch, which passing it explicitly
 * gives for free).
 */
import { Tensor } from '../../native/index.js';
import type { Schedule } from '../../scheduler/flow-match-euler.js';

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

/** How a band of tokens sits in the latents tensor (Flux: token axis 1; SD3: latent rows, axis 2). */
export interface LatentLayout {
  axis: number;
  /** Entries along `axis` per unit: 1 per token (Flux), patch size per token row (SD3). */
  perUnit: number;
  /** Tokens per unit: 1 (Flux), the token columns (SD3). */
  tokensPerUnit: number;
}

/** The band of `latents` that patch tokens [start, end) cover, as a view. */
export function latentBand(latents: Tensor, layout: LatentLayout, start: number, end: number): Tensor {
  const from = (start / layout.tokensPerUnit) * layout.perUnit;
  const length = ((end - start) / layout.tokensPerUnit) * layout.perUnit;
  return latents.narrow(layout.axis, from, length);
}

/** latents[band] += (σ_{i+1} − σ_i)·velocity, in float32 as the one-process step. */
export function patchEulerStep(schedule: Schedule, index: number, band: Tensor, velocity: Tensor): void {
  const sigma = schedule.sigmas[index];
  const next = schedule.sigmas[index + 1];
  if (sigma === undefined || next === undefined) {
    throw new Error(
      `flow-match step: index ${index} is outside the ${schedule.timesteps.length}-step schedule`,
    );
  }
  const dt = Math.fround(next - sigma);
  const sample = band.toFloat32Array();
  const v = velocity.toFloat32Array();
  if (v.length !== sample.length) {
    throw new Error(`patch step: band has ${sample.length} values but the velocity ${v.length}`);
  }
  for (let i = 0; i < sample.length; i++)
    sample[i] = (sample[i] as number) + Math.fround(dt * (v[i] as number));
  band.copyFrom(Tensor.fromArray(sample, band.shape));
}
