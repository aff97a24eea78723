/**
 * PipeFusion's cut of the model into stages of consecutive blocks (xdit.md §3.5). xDiT gives each stage
 * ⌈blocks / pp⌉ blocks; that is even only when blocks are alike. Flux's double blocks carry about 2.4×
 * the parameters of its single blocks, so a count split puts ~2/3 of FLUX.1's weights (and its block
 * compute, which follows the weights) on the first of two stages. Stages are cut where the largest
 * stage's parameter count is smallest — an even count split when blocks are alike (SD3). The runtime
 * cuts a checkpoint with it, and the planner sizes each stage's memory and compute with the same cut.
 */

/** Blocks [fromBlock, toBlock) in execution order. */
export interface StageRange {
  fromBlock: number;
  toBlock: number;
}

/** Contiguous ranges of `weights` (one per block, in execution order) minimising the heaviest stage. */
export function balancedStages(weights: readonly number[], stages: number): StageRange[] {
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
  const ranges: StageRange[] = [];
  let end = n;
  for (let p = stages; p >= 1; p--) {
    const start = (cut[p] as number[])[end] as number;
    ranges.unshift({ fromBlock: start, toBlock: end });
    end = start;
  }
  return ranges;
}
