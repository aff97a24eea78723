/**
 * Tensor adapters over the Flux latent packing of `runtime/flux/packing.ts` (FluxPipeline._pack_latents,
 * _unpack_latents, image/text ids), for the denoiser and the commands, which hold tensors.
 */
import {
  fluxImageIds,
  fluxTextIds,
  packedTokens,
  packLatents as packValues,
  unpackLatents as unpackValues,
} from '../../flux/packing.js';
import { Tensor } from '../../native/index.js';

/** [B, C, h, w] → [B, (h/2)(w/2), 4C]. */
export function packLatents(latents: Tensor): Tensor {
  if (latents.rank !== 4) throw new Error(`latents must be [B, C, h, w], got [${latents.shape.join(', ')}]`);
  const [batch, channels, height, width] = latents.shape as [number, number, number, number];
  const shape = { batch, channels, height, width };
  return Tensor.fromArray(packValues(latents.toFloat32Array(), shape), [
    batch,
    packedTokens(shape),
    channels * 4,
  ]);
}

/** [B, (h/2)(w/2), 4C] → [B, C, h, w] for a latent grid of `height` × `width`. */
export function unpackLatents(packed: Tensor, height: number, width: number): Tensor {
  if (packed.rank !== 3 || packed.size(2) % 4 !== 0) {
    throw new Error(`packed latents must be [B, tokens, 4C], got [${packed.shape.join(', ')}]`);
  }
  const [batch, , features] = packed.shape as [number, number, number];
  const shape = { batch, channels: features / 4, height, width };
  return Tensor.fromArray(unpackValues(packed.toFloat32Array(), shape), [batch, features / 4, height, width]);
}

/** img_ids [(h/2)(w/2), 3] = (0, row, col). */
export function imageIds(height: number, width: number): Tensor {
  return Tensor.fromArray(fluxImageIds(height, width), [(height / 2) * (width / 2), 3]);
}

/** txt_ids [tokens, 3] of zeros. */
export function textIds(tokens: number): Tensor {
  return Tensor.fromArray(fluxTextIds(tokens), [tokens, 3]);
}
