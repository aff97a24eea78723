/**
 * Block enumeration shared by the models, for pipeline stages: blocks are numbered in execution order,
 * and a rank may hold only the range [fromBlock, toBlock) (plus the embedders when fromBlock is 0 and the
 * output head when toBlock is the block count) — the same selection the checkpoint loader uses.
 */
import type { StageSelection } from '../../checkpoint/index.js';
import type { AttentionFn } from './attention.js';

export type BlockRange = StageSelection;

/** One transformer block: updates the step state in place. */
export interface TransformerBlock<State> {
  /** Position in execution order. */
  readonly index: number;
  /** Diffusers' name of the block, e.g. "transformer_blocks.3" or "single_transformer_blocks.0". */
  readonly id: string;
  forward(state: State, attention: AttentionFn): Promise<void>;
}

export class BlockRangeError extends Error {
  override readonly name = 'BlockRangeError';
}

export function checkRange(range: BlockRange, blockCount: number, what: string): void {
  const { fromBlock, toBlock } = range;
  if (
    !(
      Number.isInteger(fromBlock) &&
      Number.isInteger(toBlock) &&
      fromBlock >= 0 &&
      fromBlock <= toBlock &&
      toBlock <= blockCount
    )
  ) {
    throw new BlockRangeError(
      `${what}: block range [${fromBlock}, ${toBlock}) is outside [0, ${blockCount})`,
    );
  }
}

/** Runs blocks [fromBlock, toBlock) of `blocks` (indexed by execution order; null = not loaded here). */
export async function runBlocks<State>(
  blocks: ReadonlyArray<TransformerBlock<State> | null>,
  state: State,
  range: BlockRange,
  attention: AttentionFn,
  model: string,
): Promise<void> {
  checkRange(range, blocks.length, model);
  for (let i = range.fromBlock; i < range.toBlock; i++) {
    const block = blocks[i];
    if (!block) {
      throw new BlockRangeError(
        `${model}: block ${i} is not loaded on this rank (it holds a different stage)`,
      );
    }
    await block.forward(state, attention);
  }
}
