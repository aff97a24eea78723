/**
 * The token geometry of spatial latents [B, C, H, W] cut into p×p patches in row-major order, the
 * layout SD3 and PixArt-Σ share (Flux packs its latents before the model and has its own).
 */
import type { Tensor } from '../native/index.js';
import type { TokenGeometry } from './family.js';

export function patchGridGeometry(
  latents: Tensor,
  patchSize: number,
  jointTextTokens: number,
  label: string,
): TokenGeometry {
  if (latents.rank !== 4) {
    throw new Error(`${label} latents must be [B, C, H, W], got [${latents.shape.join(', ')}]`);
  }
  const rows = latents.size(2) / patchSize;
  const cols = latents.size(3) / patchSize;
  return {
    rows,
    cols,
    imageTokens: rows * cols,
    jointTextTokens,
    latentLayout: { axis: 2, perUnit: patchSize, tokensPerUnit: cols },
    headAxis: 2,
  };
}
