/**
 * The operations of the VAE decoder that look beyond one pixel's rows: the 3×3 convolutions (which need
 * the rows above and below), GroupNorm (statistics of the whole image) and the mid-block attention (keys
 * and values of every token). The decoder is written once over this interface; `wholeImage` runs them on
 * one process, and the patch-parallel decoder (parallel/patch-vae.ts) on a row band with halo exchange,
 * reduced statistics and gathered keys/values.
 */
import { ops, type Tensor } from '../../native/index.js';

export interface SpatialOps {
  /** 3×3 convolution, stride 1, zero padding 1, of x [N, C, H, W] (this process's rows). */
  conv3x3(x: Tensor, weight: Tensor, bias: Tensor): Promise<Tensor>;
  groupNorm(
    x: Tensor,
    groups: number,
    affine: { weight: Tensor; bias: Tensor },
    eps: number,
  ): Promise<Tensor>;
  /** The whole image's tokens [N, S, C] from this process's tokens [N, s, C] (in row order). */
  allTokens(x: Tensor): Promise<Tensor>;
}

export const wholeImage: SpatialOps = {
  conv3x3: async (x, weight, bias) => ops.conv2d(x, weight, { bias, padding: 1 }),
  groupNorm: async (x, groups, { weight, bias }, eps) => ops.groupNorm(x, groups, { weight, bias, eps }),
  allTokens: async (x) => x,
};
