/** What flows between SD3 blocks during one forward. */
import type { Tensor } from '../../native/index.js';

export interface Sd3State {
  /** SiLU(temb) [B, D]: every modulation reads temb through SiLU. */
  activatedTemb: Tensor;
  /** Image tokens [B, N_img, D]. */
  image: Tensor;
  /** Text tokens [B, N_txt, D]; null after the last (context_pre_only) block drops the text stream. */
  text: Tensor | null;
  /** The latent grid in patches, for unpatchify. */
  rows: number;
  cols: number;
}

export function releaseState(state: Sd3State): void {
  state.activatedTemb.release();
  state.image.release();
  state.text?.release();
}
