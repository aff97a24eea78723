import { gpuSpec } from '../../src/shared/hardware/index.js';
import { modelPreset } from '../../src/shared/models/index.js';
import { type Degrees, planShortString } from '../../src/shared/plan/index.js';
import {
  type Candidate,
  type EfficiencyProfile,
  explore,
  type PlannerInput,
  plan,
  type RankedCandidate,
} from '../../src/shared/planner/index.js';
import type { PublishedTable } from './xdit-published.js';

export interface RowResult {
  config: string;
  published: number;
  predicted: number;
  approximate: boolean;
}

export interface TableResult {
  id: string;
  rows: RowResult[];
  /** Spearman rank correlation of predicted vs published over the rows; null below 2 rows. */
  spearman: number | null;
  chosen: string;
  chosenPredicted: number;
  /** The second-ranked candidate's predicted time: how clear the first choice is. */
  runnerUpPredicted: number;
  /** The published best's predicted time (or the best prediction on its GPU count when unnamed). */
  bestPredicted: number;
  firstChoiceIsPublishedBest: boolean;
  /** |predicted(first choice) − published best| / published best. */
  firstChoiceError: number;
  firstChoiceOk: boolean;
  orderingsOk: boolean;
  /** For each stated ordering, how much slower the slower side is predicted (negative: broken). */
  orderingMargins: number[];
  orderingDetails: string[];
}

export function tableInput(table: PublishedTable, profile: EfficiencyProfile): PlannerInput {
  const model = modelPreset(table.model);
  return {
    model,
    request: {
      height: table.height,
      width: table.width,
      steps: table.steps,
      maxBatch: 1,
      guidanceScale: 3.5,
    },
    hardware: {
      gpu: gpuSpec(table.gpu),
      gpusPerNode: table.gpusPerNode,
      nodesAvailable: 1,
      intraNode: table.intraNode,
      interNodeGbps: 100,
    },
    // The published experiments measured exact (non-PipeFusion) methods; schnell forbids it anyway.
    policy: { gpusPerGroup: table.gpus, objective: 'latency', allowPipefusion: false },
    profile,
  };
}

const same = (a: Degrees, b: Degrees) => planShortString(a) === planShortString(b);

function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(values.length).fill(0);
  for (let k = 0; k < order.length; ) {
    let j = k;
    while (j + 1 < order.length && order[j + 1]?.v === order[k]?.v) j++;
    const avg = (k + j) / 2 + 1;
    for (let m = k; m <= j; m++) out[order[m]?.i ?? 0] = avg;
    k = j + 1;
  }
  return out;
}

/** Spearman's ρ with average ranks for ties. */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  if (a.length < 2) return null;
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    const x = (ra[i] ?? 0) - ma;
    const y = (rb[i] ?? 0) - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

function bestOn(gpus: number, candidates: readonly Candidate[]): Candidate | undefined {
  return candidates
    .filter((c) => c.gpusPerGroup === gpus)
    .reduce<Candidate | undefined>(
      (b, c) => (!b || c.time.totalSeconds < b.time.totalSeconds ? c : b),
      undefined,
    );
}

export function evaluateTable(table: PublishedTable, profile: EfficiencyProfile): TableResult {
  const input = tableInput(table, profile);
  const result = plan(input);
  const all: RankedCandidate[] = result.candidates;
  const predictedFor = (d: Degrees) => {
    const c = all.find((x) => same(x.degrees, d));
    if (!c)
      throw new Error(
        `${table.id}: published configuration ${planShortString(d)} was rejected by the planner`,
      );
    return c.time.totalSeconds;
  };
  const rows = table.rows.map((r) => ({
    config: planShortString(r.degrees),
    published: r.seconds,
    predicted: predictedFor(r.degrees),
    approximate: r.approximate !== undefined,
  }));
  const chosen = result.chosen;
  const chosenPredicted = chosen.predicted.totalSeconds;
  // When the source does not name the best configuration, only its time can be matched.
  const firstChoiceIsPublishedBest =
    table.best.degrees !== undefined && same(chosen.degrees, table.best.degrees);
  const firstChoiceError = Math.abs(chosenPredicted - table.best.seconds) / table.best.seconds;
  const bestPredicted = table.best.degrees
    ? predictedFor(table.best.degrees)
    : (bestOn(table.best.gpus, explore(input).candidates)?.time.totalSeconds ?? Number.NaN);
  const orderingDetails: string[] = [];
  let orderingsOk = true;
  const orderingMargins: number[] = [];
  for (const o of table.orderings) {
    const fast = bestOn(o.fasterGpus, all);
    const slow = bestOn(o.slowerGpus, all);
    const ok = fast !== undefined && slow !== undefined && fast.time.totalSeconds < slow.time.totalSeconds;
    orderingsOk &&= ok;
    orderingMargins.push(fast && slow ? slow.time.totalSeconds / fast.time.totalSeconds - 1 : -1);
    orderingDetails.push(
      `best on ${o.fasterGpus} GPUs ${fast?.time.totalSeconds.toFixed(2)} s < best on ${o.slowerGpus} GPUs ` +
        `${slow?.time.totalSeconds.toFixed(2)} s: ${ok ? 'holds' : 'FAILS'}`,
    );
  }
  return {
    id: table.id,
    rows,
    spearman: spearman(
      rows.map((r) => r.published),
      rows.map((r) => r.predicted),
    ),
    chosen: `${planShortString(chosen.degrees)} on ${chosen.gpusPerGroup} GPU(s)`,
    chosenPredicted,
    runnerUpPredicted: all[1]?.time.totalSeconds ?? Number.POSITIVE_INFINITY,
    bestPredicted,
    firstChoiceIsPublishedBest,
    firstChoiceError,
    firstChoiceOk: firstChoiceIsPublishedBest || firstChoiceError <= 0.05,
    orderingsOk,
    orderingMargins,
    orderingDetails,
  };
}
