/**
 * PipeFusion's cut of the model into stages of consecutive blocks (xdit.md §3.5). xDiT gives each stage
 * ⌈blocks / pp⌉ blocks; that is even only when blocks are alike. Flux's double blocks carry about 2.4×
 * the parameters of its single blocks, so a count split puts ~2/3 of FLUX.1's weights (and its block
 * compute, which follows the weights) on the first of two stages. Stages here are cut where the largest
 * stage's parameter count is smallest — an even count split when blocks are alike (SD3) — from the
 * checkpoint's manifest, so every rank computes the same cut without reading any weight.
 */
import { blockGroups, manifestFor, type TransformerConfig } from '../checkpoint/index.js';
import type { BlockRange } from '../models/common/blocks.js';

/** Contiguous ranges of `weights` (one per block, in execution order) minimising the heaviest stage. */
export function balancedStages(weights: readonly number[], stages: number): BlockRange[] {
  const n = weights.length;
  if (!Number.isInteger(stages) || stages < 1 || stages > n) {
    throw new RangeError(`${stages} pipeline stages cannot each get one of ${n} blocks`);
  }
  const prefix = [0];
  for (const w of weights) prefix.push((prefix[prefix.length - 1] as number) + w);
  const sum = (from: number, to: number) => (prefix[to] as number) - (prefix[from] as number);
  // best[p][i]: the lightest heaviest stage when the first i blocks form p stages; cut[p][i]: where the last starts.
  const best = Array.from({ length: stages + 1 }, () =>
    new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY),
  );
  const cut = Array.from({ length: stages + 1 }, () => new Array<number>(n + 1).fill(0));
  (best[0] as number[])[0] = 0;
  for (let p = 1; p <= stages; p++) {
    for (let i = p; i <= n; i++) {
      for (let j = p - 1; j < i; j++) {
        const value = Math.max((best[p - 1] as number[])[j] as number, sum(j, i));
        // `<` keeps the earliest cut among equals, so extra blocks of an uneven count go to later stages.
        if (value < ((best[p] as number[])[i] as number)) {
          (best[p] as number[])[i] = value;
          (cut[p] as number[])[i] = j;
        }
      }
    }
  }
  const ranges: BlockRange[] = [];
  let end = n;
  for (let p = stages; p >= 1; p--) {
    const start = (cut[p] as number[])[end] as number;
    ranges.unshift({ fromBlock: start, toBlock: end });
    end = start;
  }
  return ranges;
}

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
