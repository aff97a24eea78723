/**
 * SD3's PatchEmbed (runtime.md §2 step 1): Conv2d(k = s = patch) → tokens in row-major order → plus the
 * stored 2-D sin-cos table `pos_embed.pos_embed` [1, max², D], cropped to the centre h × w window.
 */
import { ops, type Tensor } from '../../native/index.js';
import type { WeightLookup } from '../common/weights.js';

export class PatchEmbed {
  private readonly weight: Tensor;
  private readonly bias: Tensor;
  private readonly table: Tensor;
  private readonly maxSize: number;

  constructor(
    weights: WeightLookup,
    private readonly patchSize: number,
    maxSize: number | null,
  ) {
    this.weight = weights.get('pos_embed.proj.weight');
    this.bias = weights.get('pos_embed.proj.bias');
    if (maxSize === null) {
      // Diffusers then recomputes a table per resolution; no SD3/SD3.5 release ships such a config.
      throw new Error(
        'SD3 config has pos_embed_max_size: null (no stored position table), which is not supported; released SD3/SD3.5 configs set it (192 or 384)',
      );
    }
    this.maxSize = maxSize;
    this.table = weights.get('pos_embed.pos_embed');
  }

  /** latents [B, C, H, W] → tokens [B, (H/p)(W/p), D]. */
  apply(latents: Tensor): Tensor {
    const [batch, , height, width] = latents.shape as [number, number, number, number];
    const p = this.patchSize;
    const rows = height / p;
    const cols = width / p;
    const conv = ops.conv2d(latents, this.weight, { bias: this.bias, stride: p });
    const dim = conv.size(1);
    const flat = conv.reshape([batch, dim, rows * cols]);
    conv.release();
    const tokens = ops.permute(flat, [0, 2, 1]);
    flat.release();
    const pos = this.croppedTable(rows, cols, dim);
    ops.add(tokens, pos, tokens);
    pos.release();
    return tokens;
  }

  /**
   * The centre rows × cols window of the max × max table → [rows·cols, D]: a suffix of the tokens'
   * shape, the broadcast both devices add (the GPU's add does not stretch a leading 1 over the batch).
   */
  private croppedTable(rows: number, cols: number, dim: number): Tensor {
    const max = this.maxSize;
    if (rows > max || cols > max) {
      throw new Error(
        `latent grid ${rows}×${cols} patches exceeds pos_embed_max_size ${max}: use a smaller image (at most ${max * this.patchSize} latent pixels per side)`,
      );
    }
    const top = Math.floor((max - rows) / 2);
    const left = Math.floor((max - cols) / 2);
    const grid = this.table.reshape([max, max, dim]);
    const band = grid.narrow(0, top, rows);
    const window = band.narrow(1, left, cols);
    const dense = window.contiguous();
    const out = dense.reshape([rows * cols, dim]);
    // Views keep the memory alive; releasing the intermediates only drops their references.
    for (const t of new Set([grid, band, window, dense])) t.release();
    return out;
  }
}

/** tokens [B, h·w, p·p·C] → latents [B, C, h·p, w·p] (einsum nhwpqc → nchpwq). */
export function unpatchify(
  tokens: Tensor,
  rows: number,
  cols: number,
  patch: number,
  channels: number,
): Tensor {
  const batch = tokens.size(0);
  const grid = tokens.reshape([batch, rows, cols, patch, patch, channels]);
  const image = ops.permute(grid, [0, 5, 1, 3, 2, 4]);
  grid.release();
  const out = image.reshape([batch, channels, rows * patch, cols * patch]);
  image.release();
  return out;
}
