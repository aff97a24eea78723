/**
 * Comparing a runtime output with a golden from test/fixtures/reference: |ours − golden| ≤ atol + rtol·|golden|
 * element-wise, with a message that says where and by how much it fails.
 */
export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface Comparison {
  ok: boolean;
  maxAbsDiff: number;
  /** Index of the worst violation (or of the largest difference when none violates). */
  worstIndex: number;
  message: string;
}

export function compareToGolden(
  actual: ArrayLike<number>,
  golden: ArrayLike<number>,
  tolerance: Tolerance,
  label: string,
): Comparison {
  if (actual.length !== golden.length) {
    return {
      ok: false,
      maxAbsDiff: Number.POSITIVE_INFINITY,
      worstIndex: -1,
      message: `${label}: ${actual.length} values, golden has ${golden.length}`,
    };
  }
  let maxAbsDiff = 0;
  let worstIndex = -1;
  let worstExcess = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < golden.length; i++) {
    const g = golden[i] as number;
    const diff = Math.abs((actual[i] as number) - g);
    // NaN never passes: a diff of NaN makes the excess NaN, caught below.
    const excess = diff - (tolerance.atol + tolerance.rtol * Math.abs(g));
    if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = Number.isNaN(diff) ? Number.NaN : diff;
    if (Number.isNaN(excess) || excess > worstExcess) {
      worstExcess = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
      worstIndex = i;
    }
  }
  const ok = worstExcess <= 0;
  const at =
    worstIndex >= 0 ? ` (worst at [${worstIndex}]: ${actual[worstIndex]} vs ${golden[worstIndex]})` : '';
  return {
    ok,
    maxAbsDiff,
    worstIndex,
    message: `${label}: max |diff| ${maxAbsDiff} with atol ${tolerance.atol}, rtol ${tolerance.rtol}${ok ? '' : at}`,
  };
}
