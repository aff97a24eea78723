/**
 * Patch-parallel VAE decoding (xDiT's DistVAE, xdit.md §3.10): each rank of a decode group takes a band
 * of the latent's rows and runs the whole decoder on it; the decoder's spatial operations reach across
 * bands through the communicator —
 * - 3×3 convolutions get one halo row from each neighbour (zero rows at the image's edges, as padding
 *   would give) and convolve without vertical padding, so each output row is the one-process row;
 * - GroupNorm reduces every band's (mean, M2) per group into the image's statistics (Chan et al.);
 * - the mid-block attention gathers every band's keys and values, each band attending with its queries;
 * - nearest upsampling doubles a band's rows locally.
 * The bands are gathered into the image at the end. The result equals the one-process decode up to float
 * rounding (the convolutions' and statistics' summation order).
 */
import type { Communicator } from '../comm/index.js';
import { ops, pipelineOps, Tensor } from '../native/index.js';
import type { VaeDecoder } from '../pipeline/vae/decoder.js';
import type { SpatialOps } from '../pipeline/vae/spatial-ops.js';

export class PatchVaeError extends Error {
  override readonly name = 'PatchVaeError';
}

export interface RowBand {
  start: number;
  rows: number;
}

/** Near-equal bands of `height` rows over `ranks` ranks, earlier ranks one row longer when uneven. */
export function rowBands(height: number, ranks: number): RowBand[] {
  const base = Math.floor(height / ranks);
  if (base < 1) {
    throw new PatchVaeError(
      `a latent of ${height} rows cannot be split over ${ranks} VAE ranks (each needs a row); decode on fewer ranks`,
    );
  }
  const extra = height % ranks;
  let start = 0;
  return Array.from({ length: ranks }, (_, r) => {
    const rows = base + (r < extra ? 1 : 0);
    const band = { start, rows };
    start += rows;
    return band;
  });
}

const TAG_UP = 11;
const TAG_DOWN = 12;

class BandOps implements SpatialOps {
  private readonly rank: number;
  private readonly size: number;

  constructor(
    private readonly comm: Communicator,
    /** Every rank's band at the latent's resolution. */
    private readonly bands: readonly RowBand[],
  ) {
    this.rank = comm.rank;
    this.size = comm.size;
  }

  /** Rows of rank r's band at the resolution of x (bands grow with the decoder's upsampling). */
  private rowsAt(x: Tensor, r: number): number {
    const own = this.bands[this.rank] as RowBand;
    return ((this.bands[r] as RowBand).rows * x.size(2)) / own.rows;
  }

  async conv3x3(x: Tensor, weight: Tensor, bias: Tensor): Promise<Tensor> {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const first = x.narrow(2, 0, 1).contiguous();
    const last = x.narrow(2, h - 1, 1).contiguous();
    const above = Tensor.zeros([n, c, 1, w]);
    const below = Tensor.zeros([n, c, 1, w]);
    const sends = [];
    const recvs = [];
    if (this.rank > 0) {
      sends.push({ buf: first, peer: this.rank - 1, tag: TAG_UP });
      recvs.push({ buf: above, peer: this.rank - 1, tag: TAG_DOWN });
    }
    if (this.rank < this.size - 1) {
      sends.push({ buf: last, peer: this.rank + 1, tag: TAG_DOWN });
      recvs.push({ buf: below, peer: this.rank + 1, tag: TAG_UP });
    }
    await this.comm.exchange({ sends, recvs });
    const padded = ops.concat([above, x, below], 2);
    const out = ops.conv2d(padded, weight, { bias, padding: [0, 1] });
    for (const t of [first, last, above, below, padded]) t.release();
    return out;
  }

  async groupNorm(
    x: Tensor,
    groups: number,
    affine: { weight: Tensor; bias: Tensor },
    eps: number,
  ): Promise<Tensor> {
    const [n, c, , w] = x.shape as [number, number, number, number];
    const local = Float64Array.from(pipelineOps.groupNormStats(x, groups).toFloat32Array());
    const all = new Float64Array(local.length * this.size);
    await this.comm.allGather(local, all);
    const mean = new Float32Array(n * groups);
    const rstd = new Float32Array(n * groups);
    const perRow = (c / groups) * w;
    for (let g = 0; g < n * groups; g++) {
      let count = 0;
      let sum = 0;
      for (let r = 0; r < this.size; r++) {
        const cr = this.rowsAt(x, r) * perRow;
        count += cr;
        sum += cr * (all[r * local.length + 2 * g] as number);
      }
      const m = sum / count;
      let m2 = 0;
      for (let r = 0; r < this.size; r++) {
        const cr = this.rowsAt(x, r) * perRow;
        const mr = all[r * local.length + 2 * g] as number;
        m2 += (all[r * local.length + 2 * g + 1] as number) + cr * (mr - m) ** 2;
      }
      mean[g] = m;
      rstd[g] = 1 / Math.sqrt(m2 / count + Math.fround(eps));
    }
    return pipelineOps.groupNormApply(
      x,
      groups,
      { mean: Tensor.fromArray(mean, [n, groups]), rstd: Tensor.fromArray(rstd, [n, groups]) },
      affine,
    );
  }

  async allTokens(x: Tensor): Promise<Tensor> {
    const [n, tokens, c] = x.shape as [number, number, number];
    const perRow = tokens / (this.bands[this.rank] as RowBand).rows;
    const counts = this.bands.map((b) => b.rows * perRow);
    return gatherPadded(this.comm, x, 1, counts, [n, Math.max(...counts), c]);
  }
}

/** Every rank's `x` joined along `axis` (sizes `counts` per rank): padded to the largest, all-gathered, cut. */
async function gatherPadded(
  comm: Communicator,
  x: Tensor,
  axis: number,
  counts: readonly number[],
  paddedShape: readonly number[],
): Promise<Tensor> {
  const padded = Tensor.zeros(paddedShape);
  const slot = padded.narrow(axis, 0, x.size(axis));
  slot.copyFrom(x);
  slot.release();
  const all = Tensor.empty([comm.size, ...paddedShape]);
  await comm.allGather(padded, all);
  const parts = counts.map((count, r) => {
    const own = all.narrow(0, r, 1).reshape(paddedShape);
    return own.narrow(axis, 0, count);
  });
  const joined = ops.concat(parts, axis);
  for (const t of [padded, all, ...parts]) t.release();
  return joined;
}

/**
 * Decodes z [N, C, h, w] (the same on every rank of `comm`) patch-parallel; every rank returns the whole
 * image [N, 3, 8h, 8w].
 */
export async function decodePatchParallel(
  decoder: VaeDecoder,
  z: Tensor,
  comm: Communicator,
): Promise<Tensor> {
  const bands = rowBands(z.size(2), comm.size);
  const own = bands[comm.rank] as RowBand;
  const band = z.narrow(2, own.start, own.rows).contiguous();
  const image = await decoder.decode(band, new BandOps(comm, bands));
  band.release();
  const [n, c, rows, w] = image.shape as [number, number, number, number];
  const scale = rows / own.rows;
  const counts = bands.map((b) => b.rows * scale);
  const whole = await gatherPadded(comm, image, 2, counts, [n, c, Math.max(...counts), w]);
  image.release();
  return whole;
}
