/**
 * PipeFusion's cut of the model into stages of consecutive blocks (xdit.md §3.5): each stage takes
 * ⌈blocks / pp⌉ blocks and the last one the remainder, as xDiT's `_split_transformer_blocks` does. Flux
 * counts double and single blocks together (execution order).
 */
import type { BlockRange } from '../models/common/blocks.js';

export function stageRange(blocks: number, stages: number, stage: number): BlockRange {
  const per = Math.ceil(blocks / stages);
  const fromBlock = Math.min(blocks, stage * per);
  const toBlock = stage === stages - 1 ? blocks : Math.min(blocks, (stage + 1) * per);
  return { fromBlock, toBlock };
}
