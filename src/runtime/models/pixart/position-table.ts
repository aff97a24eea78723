/**
 * PixArt's 2-D sin-cos position table (diffusers get_2d_sincos_pos_embed), built per latent grid since
 * checkpoints do not store it: grid coordinates in float32, arange(n) / (n / base_size) /
 * interpolation_scale with base_size = sample_size / patch_size; frequencies and sin/cos in float64, then
 * float32. A token at (row i, column j) gets [sin(x_j·ω), cos(x_j·ω), sin(y_i·ω), cos(y_i·ω)] with
 * ω_k = 10000^(−k / (D/4)): the column coordinate comes first (meshgrid "xy").
 */
import { Tensor } from '../../native/index.js';
import { onPlacement, type Placement } from '../common/placement.js';

export function pixartPositionTable(
  rows: number,
  cols: number,
  width: number,
  baseSize: number,
  scale: number,
): Tensor {
  const f = Math.fround;
  const quarter = width / 4;
  const omega = Array.from({ length: quarter }, (_, k) => 1 / 10000 ** (k / quarter));
  const coordinate = (i: number, n: number) => f(f(i / f(n / baseSize)) / f(scale));
  const out = new Float32Array(rows * cols * width);
  for (let i = 0; i < rows; i++) {
    const y = coordinate(i, rows);
    for (let j = 0; j < cols; j++) {
      const x = coordinate(j, cols);
      const row = (i * cols + j) * width;
      for (let k = 0; k < quarter; k++) {
        out[row + k] = Math.sin(x * (omega[k] as number));
        out[row + quarter + k] = Math.cos(x * (omega[k] as number));
        out[row + 2 * quarter + k] = Math.sin(y * (omega[k] as number));
        out[row + 3 * quarter + k] = Math.cos(y * (omega[k] as number));
      }
    }
  }
  return Tensor.fromArray(out, [1, rows * cols, width]);
}

/**
 * The table of the last latent grid seen, kept where the model computes, as [N, D] (added to [B, N, D]
 * tokens: a suffix of their shape, the broadcast both devices add). A request's grid is the same at every
 * step, so the table is built and uploaded once per request instead of once per step; each forward gets
 * a view of it (releasing the view leaves the kept table alone).
 */
export class PositionTableCache {
  private key = '';
  private table: Tensor | null = null;

  constructor(
    private readonly placement: Placement,
    private readonly baseSize: number,
    private readonly scale: number,
  ) {}

  tableFor(rows: number, cols: number, width: number): Tensor {
    const key = `${rows}x${cols}x${width}`;
    if (!this.table || key !== this.key) {
      this.table?.release();
      const host = pixartPositionTable(rows, cols, width, this.baseSize, this.scale);
      const flat = host.reshape([rows * cols, width]);
      host.release();
      const placed = onPlacement(flat, this.placement);
      if (placed !== flat) flat.release();
      this.table = placed;
      this.key = key;
    }
    return this.table.reshape(this.table.shape);
  }
}
