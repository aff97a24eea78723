/**
 * Flux latent packing (FluxPipeline._pack_latents / _unpack_latents, runtime.md §1.5): latents [B, C, h, w]
 * ↔ tokens [B, (h/2)(w/2), 4C], one token per 2×2 patch in row-major order, features ordered
 * (channel, dy, dx). Image ids are (0, row, col) per token; text ids are zeros.
 */
import { ops, Tensor } from '../../native/index.js';

export function packLatents(latents: Tensor): Tensor {
  const [batch, channels, height, width] = fourDims(latents, 'latents');
  if (height % 2 !== 0 || width % 2 !== 0) {
    throw new Error(
      `latents [${latents.shape.join(', ')}]: height and width must be even to pack 2×2 patches`,
    );
  }
  const patches = latents.reshape([batch, channels, height / 2, 2, width / 2, 2]);
  const tokens = ops.permute(patches, [0, 2, 4, 1, 3, 5]);
  patches.release();
  const packed = tokens.reshape([batch, (height / 2) * (width / 2), channels * 4]);
  tokens.release();
  return packed;
}

/** Inverse of packLatents for a latent grid of `height` × `width` (latent pixels, both even). */
export function unpackLatents(packed: Tensor, height: number, width: number): Tensor {
  if (packed.rank !== 3)
    throw new Error(`packed latents must be [B, tokens, features], got [${packed.shape.join(', ')}]`);
  const [batch, tokens, features] = packed.shape as [number, number, number];
  if (height % 2 !== 0 || width % 2 !== 0 || tokens !== (height / 2) * (width / 2) || features % 4 !== 0) {
    throw new Error(
      `packed latents [${packed.shape.join(', ')}] do not fit a ${height}×${width} latent grid of 2×2 patches`,
    );
  }
  const channels = features / 4;
  const grid = packed.reshape([batch, height / 2, width / 2, channels, 2, 2]);
  const image = ops.permute(grid, [0, 3, 1, 4, 2, 5]);
  grid.release();
  const out = image.reshape([batch, channels, height, width]);
  image.release();
  return out;
}

/** img_ids [(h/2)(w/2), 3] = (0, row, col) for a latent grid of `height` × `width`. */
export function imageIds(height: number, width: number): Tensor {
  const rows = height / 2;
  const cols = width / 2;
  const ids = new Float32Array(rows * cols * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const at = (r * cols + c) * 3;
      ids[at + 1] = r;
      ids[at + 2] = c;
    }
  }
  return Tensor.fromArray(ids, [rows * cols, 3]);
}

/** txt_ids [tokens, 3] of zeros (FLUX.1 text-to-image). */
export function textIds(tokens: number): Tensor {
  return Tensor.zeros([tokens, 3]);
}

function fourDims(t: Tensor, name: string): [number, number, number, number] {
  if (t.rank !== 4) throw new Error(`${name} must be [B, C, H, W], got [${t.shape.join(', ')}]`);
  return t.shape as unknown as [number, number, number, number];
}
