/** What flows between PixArt blocks during one forward. */
import type { Tensor } from '../../native/index.js';

export interface PixartState {
  /** adaln_single's projection t6 [B, 6D], which every block adds to its scale_shift_table. */
  modulation: Tensor;
  /** The timestep embedding [B, D] the output head adds to its scale_shift_table. */
  embeddedTimestep: Tensor;
  /** Image tokens [B, N, D] (this rank's share under sequence parallelism). */
  image: Tensor;
  /** The projected caption [B, S, D]: every rank holds all of it (cross-attention keys and values). */
  caption: Tensor;
  /** Per sample, the caption tokens the mask keeps (null: all). */
  captionTokens: (readonly number[])[] | null;
  /** The latent grid in patches, for unpatchify. */
  rows: number;
  cols: number;
}

export function releaseState(state: PixartState): void {
  for (const t of [state.modulation, state.embeddedTimestep, state.image, state.caption]) t.release();
}
