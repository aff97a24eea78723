/**
 * Flux latent packing (runtime.md §1.5): the VAE latent [B, C, h, w] becomes a token sequence of 2×2
 * patches [B, (h/2)·(w/2), C·4], token index r·(w/2) + c (row-major), feature index ch·4 + dy·2 + dx;
 * and the position ids the transformer's RoPE reads: image (0, r, c), text all zeros.
 */

export interface LatentShape {
  batch: number;
  channels: number;
  /** Latent rows and columns (pixels / 8); both even. */
  height: number;
  width: number;
}

/** The latent grid FluxPipeline uses for an image size: 2·(px // 16) per side (VAE factor 8, then 2×2 packing). */
export function fluxLatentSize(heightPx: number, widthPx: number): { height: number; width: number } {
  for (const [field, px] of [
    ['height', heightPx],
    ['width', widthPx],
  ] as const) {
    if (!Number.isInteger(px) || px < 16 || px % 16 !== 0) {
      throw new Error(`Flux image ${field} must be a positive multiple of 16 pixels, got ${px}`);
    }
  }
  return { height: 2 * (heightPx / 16), width: 2 * (widthPx / 16) };
}

function checkShape(shape: LatentShape, values: number, what: string): void {
  const { batch, channels, height, width } = shape;
  const dims = [batch, channels, height, width];
  if (!dims.every((d) => Number.isInteger(d) && d > 0) || height % 2 !== 0 || width % 2 !== 0) {
    throw new Error(
      `Flux ${what}: latent shape [${dims.join(', ')}] needs positive sizes and an even height and width`,
    );
  }
  const expected = batch * channels * height * width;
  if (values !== expected) {
    throw new Error(
      `Flux ${what}: ${values} values do not fill latent shape [${dims.join(', ')}] (${expected})`,
    );
  }
}

/** Token count of the packed sequence. */
export const packedTokens = (shape: LatentShape): number => (shape.height / 2) * (shape.width / 2);

/** [B, C, h, w] → [B, (h/2)(w/2), 4C]. */
export function packLatents(latents: Float32Array, shape: LatentShape): Float32Array {
  checkShape(shape, latents.length, 'pack');
  const { batch, channels: C, height: h, width: w } = shape;
  const cols = w / 2;
  const tokens = packedTokens(shape);
  const out = new Float32Array(latents.length);
  for (let b = 0; b < batch; b++) {
    for (let ch = 0; ch < C; ch++) {
      for (let y = 0; y < h; y++) {
        const src = ((b * C + ch) * h + y) * w;
        const tokenRow = (y >> 1) * cols;
        const dy = y & 1;
        for (let x = 0; x < w; x++) {
          const token = tokenRow + (x >> 1);
          const feature = ch * 4 + dy * 2 + (x & 1);
          out[(b * tokens + token) * 4 * C + feature] = latents[src + x] as number;
        }
      }
    }
  }
  return out;
}

/** [B, (h/2)(w/2), 4C] → [B, C, h, w]; the exact inverse of packLatents. */
export function unpackLatents(packed: Float32Array, shape: LatentShape): Float32Array {
  checkShape(shape, packed.length, 'unpack');
  const { batch, channels: C, height: h, width: w } = shape;
  const cols = w / 2;
  const tokens = packedTokens(shape);
  const out = new Float32Array(packed.length);
  for (let b = 0; b < batch; b++) {
    for (let ch = 0; ch < C; ch++) {
      for (let y = 0; y < h; y++) {
        const dst = ((b * C + ch) * h + y) * w;
        const tokenRow = (y >> 1) * cols;
        const dy = y & 1;
        for (let x = 0; x < w; x++) {
          const token = tokenRow + (x >> 1);
          out[dst + x] = packed[(b * tokens + token) * 4 * C + ch * 4 + dy * 2 + (x & 1)] as number;
        }
      }
    }
  }
  return out;
}

/** img_ids [(h/2)(w/2), 3]: (0, row, col) per packed token, for latent height h and width w. */
export function fluxImageIds(latentHeight: number, latentWidth: number): Float32Array {
  if (latentHeight % 2 !== 0 || latentWidth % 2 !== 0 || latentHeight < 2 || latentWidth < 2) {
    throw new Error(`Flux image ids: latent ${latentHeight}×${latentWidth} must have even, positive sides`);
  }
  const rows = latentHeight / 2;
  const cols = latentWidth / 2;
  const ids = new Float32Array(rows * cols * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = r * cols + c;
      ids[t * 3 + 1] = r;
      ids[t * 3 + 2] = c;
    }
  }
  return ids;
}

/** txt_ids [N_txt, 3]: all zero in FLUX.1 text-to-image (RoPE is then the identity on text tokens). */
export function fluxTextIds(textLength: number): Float32Array {
  if (!Number.isInteger(textLength) || textLength < 1) {
    throw new Error(`Flux text ids: text length must be a positive integer, got ${textLength}`);
  }
  return new Float32Array(textLength * 3);
}
