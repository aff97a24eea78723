/**
 * What every staged transformer (embed → runBlocks → head) shares: the whole forward on a rank that holds
 * every block, and the check of latents that are patchified.
 */
import type { Tensor } from '../../native/index.js';
import { type AttentionFn, localAttention } from './attention.js';
import { type BlockRange, checkRange } from './blocks.js';

export interface StagedModel<Inputs, State> {
  readonly blockCount: number;
  embed(inputs: Inputs): State;
  runBlocks(state: State, range: BlockRange, attention: AttentionFn): Promise<void>;
  head(state: State): Tensor;
}

/** embed, every block, head; the state is released whatever happens. */
export async function forwardAllBlocks<Inputs, State>(
  model: StagedModel<Inputs, State>,
  inputs: Inputs,
  release: (state: State) => void,
  attention: AttentionFn = localAttention,
): Promise<Tensor> {
  const state = model.embed(inputs);
  try {
    await model.runBlocks(state, { fromBlock: 0, toBlock: model.blockCount }, attention);
    return model.head(state);
  } finally {
    release(state);
  }
}

export const shapeOf = (t: Tensor): string => `[${t.shape.join(', ')}]`;

/** Latents [B, in_channels, H, W] with H and W multiples of the patch size → the grid in patches. */
export function checkPatchedLatents(
  x: Tensor,
  inChannels: number,
  patch: number,
): { rows: number; cols: number } {
  if (x.rank !== 4 || x.size(1) !== inChannels) {
    throw new Error(
      `hidden_states must be latents [B, ${inChannels}, H, W] (in_channels), got ${shapeOf(x)}`,
    );
  }
  if (x.size(2) % patch !== 0 || x.size(3) % patch !== 0) {
    throw new Error(`hidden_states ${shapeOf(x)}: H and W must be multiples of patch_size ${patch}`);
  }
  return { rows: x.size(2) / patch, cols: x.size(3) / patch };
}

/** Blocks [0, count) in execution order, built only inside the range this rank holds (null elsewhere). */
export function blocksInRange<B>(
  count: number,
  loaded: BlockRange,
  model: string,
  make: (index: number) => B,
): (B | null)[] {
  checkRange(loaded, count, model);
  return Array.from({ length: count }, (_, i) =>
    i >= loaded.fromBlock && i < loaded.toBlock ? make(i) : null,
  );
}
