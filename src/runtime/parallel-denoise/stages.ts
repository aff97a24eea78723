/**
 * PipeFusion's cut of the model into stages of consecutive blocks (xdit.md §3.5). xDiT gives each stage
 * ⌈blocks / pp⌉ blocks; that is even only when blocks are alike. Flux's double blocks carry about 2.4×
 * the parameters of its single blocks, so a count split puts ~2/3 of FLUX.1's weights (and its block
 * compute, which follows the weights) on the first of two stages. Stages here are cut where the largest
 * stage's parameter count is smallest — an even count split when blocks are alike (SD3) — from the
 * checkpoint's manifest, so every rank computes the same cut without reading any weight.
 */
import { balancedStages } from '../../shared/plan/index.js';
import { blockGroups } from '../checkpoint/index.js';
import { manifestFor, type TransformerConfig } from '../families/index.js';
import type { BlockRange } from '../models/common/blocks.js';

// The cut lives with the plan contract: the planner sizes each stage's memory with the same function.
export { balancedStages };

/** Parameters per block of a checkpoint, in execution order (from its config's manifest). */
export function blockParameters(config: TransformerConfig): number[] {
  return blockGroups(manifestFor(config))
    .sort((a, b) => (a.executionIndex ?? 0) - (b.executionIndex ?? 0))
    .map((g) => g.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0));
}

/** The blocks PipeFusion stage `stage` of `stages` holds. */
export function stageRange(config: TransformerConfig, stages: number, stage: number): BlockRange {
  const range = balancedStages(blockParameters(config), stages)[stage];
  if (!range) throw new RangeError(`stage ${stage} is outside ${stages} pipeline stages`);
  return range;
}
