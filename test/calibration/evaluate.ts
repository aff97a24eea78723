import { gpuSpec } from '../../src/shared/hardware/index.js';
import { type ModelSpec, modelPreset } from '../../src/shared/models/index.js';
import { type Degrees, planShortString } from '../../src/shared/plan/index.js';
import {
  approximatePolicy,
  type Candidate,
  DEFAULT_APPROXIMATE_POLICY,
  decide,
  type EfficiencyProfile,
  explore,
  isExact,
  type PlannerInput,
  type PlannerPolicy,
  type Rejection,
  rankCandidates,
  repredict,
  XDIT_RUNTIME,
} from '../../src/shared/planner/index.js';
import type { CalibrationModel, PublishedRow, PublishedTable, Reading } from './published/index.js';

/** Published within this fraction of the published best counts as as good as the best. */
export const FIRST_CHOICE_TOLERANCE = 0.03;

/** How far predicted times may move for a check to count as robust (`TableResult.robust`). */
export const ROBUSTNESS = 0.015;

/** PixArt-α: PixArt-Σ's transformer with α's 120 T5 tokens (the Σ pipeline uses 300). */
function calibrationModel(name: CalibrationModel): ModelSpec {
  if (name !== 'pixart-alpha') return modelPreset(name);
  return { ...modelPreset('pixart-sigma'), name: 'pixart-alpha', crossAttentionTokens: 120 };
}

/** The profile that predicts xDiT's runs: the mode's constants with xDiT's runtime traits. */
export function xditProfile(profile: EfficiencyProfile): EfficiencyProfile {
  return { ...profile, runtime: XDIT_RUNTIME };
}

export function tableInput(
  table: PublishedTable,
  profile: EfficiencyProfile,
  gpusPerGroup: PlannerPolicy['gpusPerGroup'] = table.gpus,
): PlannerInput {
  return {
    model: calibrationModel(table.model),
    request: { height: table.height, width: table.width, steps: table.steps, maxBatch: 1, guidanceScale: 5 },
    hardware: {
      // The calibration compares times: xDiT ran configurations that Tessera's memory model would refuse
      // (4096² on one L40 needs VAE tiling or CPU offload), so memory is not what is checked here.
      gpu: { ...(table.gpuSpec ?? gpuSpec(table.gpu)), memoryBytes: Number.MAX_SAFE_INTEGER },
      gpusPerNode: table.gpusPerNode,
      nodesAvailable: table.nodes,
      intraNode: table.intraNode,
      interNodeGbps: table.interNodeGbps ?? 100,
      ...(table.gpusPerSwitch !== undefined ? { gpusPerSwitch: table.gpusPerSwitch } : {}),
    },
    // The default policy: exact methods first, PipeFusion only beyond the default margin.
    policy: {
      gpusPerGroup,
      objective: 'latency',
      allowPipefusion: true,
      approximate: DEFAULT_APPROXIMATE_POLICY,
    },
    profile: xditProfile(profile),
  };
}

export interface RowResult {
  config: string;
  gpus: number;
  published: number;
  predicted: number;
  read: Reading;
  /** Whether the row names its degrees (else it is the best on its GPU count). */
  named: boolean;
}

export interface TableResult {
  id: string;
  rows: RowResult[];
  /** Spearman rank correlation of predicted vs published over the rows; null below 2 rows. */
  spearman: number | null;
  /**
   * The default policy's first choice among what the experiment measured: each named row's plan and,
   * where a row is only "the best on N GPUs", every plan on N GPUs. E.g. `dp1·cfg1·pp4·r1·u4 on 16 GPU(s)`.
   */
  chosen: string;
  chosenDegrees: Degrees;
  chosenPredicted: number;
  /**
   * The first choice's published time: its row's, or for a plan on a "best on N" GPU count, that row's
   * time scaled by the plan's predicted time over the planner's fastest plan there (never below the row).
   */
  chosenPublished: number;
  chosenPublishedBasis: 'row' | 'best on its GPU count, scaled';
  /** Which rule of the approximate policy decided. */
  decision: string;
  best: string;
  firstChoiceIsPublishedBest: boolean;
  /** (published time of the first choice − published best) / published best. */
  gap: number;
  firstChoiceOk: boolean;
  /** The predicted margin of the first choice over the runner-up (for the fitter). */
  runnerUpMargin: number;
  /** Whether the check would still hold with every predicted time moved by up to `ROBUSTNESS`. */
  robust: boolean;
  /**
   * The planner's first choice over every plan on the measured GPU counts, measured or not; xDiT's time
   * for it is known only when `openPublished` is set.
   */
  open: {
    chosen: string;
    exact: boolean;
    predicted: number;
    published: number | undefined;
    decision: string;
  };
  /** Whether the published best is an exact plan (undefined: the source does not name its degrees). */
  bestIsExact: boolean | undefined;
  /** Seconds outside the denoiser fitted to this table (see `tableOffset`). */
  offset: number;
}

/** Rows read off an axis, or naming no degrees, weigh half. */
export function rowWeight(r: PublishedRow): number {
  return r.read === 'axis' || r.degrees === undefined || r.note?.includes('hidden') ? 0.5 : 1;
}

/**
 * The denoising loop's predicted seconds: a candidate's time without what happens once per request
 * outside it (text encoders, VAE decode, pipeline set-up).
 */
export function denoiseSeconds(c: Candidate): number {
  return c.time.totalSeconds - c.time.overheadSeconds - c.time.vaeSeconds;
}

/** The candidate with `offset` seconds outside its denoiser instead of the profile's overhead and VAE. */
function withOffset<C extends Candidate>(c: C, offset: number): C {
  const totalSeconds = offset + denoiseSeconds(c);
  return { ...c, time: { ...c.time, overheadSeconds: offset, vaeSeconds: 0, totalSeconds } };
}

/**
 * The seconds each of a table's runs spends outside the denoising loop. xDiT's pipelines differ here
 * (text encoders, VAE decode with or without tiling, Python set-up) in ways no published number
 * separates, and the time is the same for every configuration of a table, so it never changes which
 * configuration is fastest. It is fitted per table as the constant (≥ 0, at most the fastest published
 * time) that best matches the rows in log space; tools/calibrate/report.ts prints it.
 */
export function tableOffset(rows: readonly { published: number; denoise: number; weight: number }[]): number {
  const loss = (offset: number) =>
    rows.reduce((sum, r) => sum + r.weight * Math.log((offset + r.denoise) / r.published) ** 2, 0);
  let lo = 0;
  let hi = Math.min(...rows.map((r) => r.published));
  // Golden-section search: the loss is unimodal in the offset.
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 60; i++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (loss(a) <= loss(b)) hi = b;
    else lo = a;
  }
  return (lo + hi) / 2;
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

const describeDegrees = (d: Degrees, gpus: number) => `${planShortString(d)} on ${gpus} GPU(s)`;

/** A table's plans, checked and placed once; `scoreTable` predicts them under any profile. */
export interface PreparedTable {
  table: PublishedTable;
  input: PlannerInput;
  candidates: Candidate[];
  rejected: Rejection[];
}

/** Explores the table's GPU counts and its rows' counts once (the rules do not depend on the constants). */
export function prepareTable(table: PublishedTable, profile: EfficiencyProfile): PreparedTable {
  const rowGpus = table.rows.map((r) => r.gpus);
  const input = tableInput(table, profile, {
    min: Math.min(table.gpus.min, ...rowGpus),
    max: Math.max(table.gpus.max, ...rowGpus),
  });
  const { candidates, rejected } = explore(input);
  return { table, input, candidates, rejected };
}

/**
 * The planner against one published table: every published configuration predicted, and the first
 * choice the default policy makes among the table's GPU counts, compared with the published best.
 */
export function evaluateTable(table: PublishedTable, profile: EfficiencyProfile): TableResult {
  return scoreTable(prepareTable(table, profile), profile);
}

export function scoreTable(prepared: PreparedTable, profile: EfficiencyProfile): TableResult {
  const { table, input, rejected } = prepared;
  const candidates = repredict(input, prepared.candidates, xditProfile(profile));
  const byKey = new Map(candidates.map((c) => [planShortString(c.degrees), c]));
  const fastestOn = (gpus: number): Candidate | undefined =>
    candidates
      .filter((c) => c.gpusPerGroup === gpus)
      .reduce<Candidate | undefined>(
        (b, c) => (!b || c.time.totalSeconds < b.time.totalSeconds ? c : b),
        undefined,
      );
  const matched = table.rows.map((r) => {
    const c = r.degrees ? byKey.get(planShortString(r.degrees)) : fastestOn(r.gpus);
    if (!c) {
      const why = rejected.find((x) => r.degrees && x.degrees && same(x.degrees, r.degrees));
      throw new Error(
        `${table.id}: published ${r.degrees ? planShortString(r.degrees) : `best on ${r.gpus} GPUs`} has no ` +
          `feasible plan: ${why?.violations.map((v) => v.reason).join('; ') ?? 'no candidate on that GPU count'}`,
      );
    }
    return { row: r, candidate: c, denoise: denoiseSeconds(c) };
  });
  const offset = tableOffset(
    matched.map((m) => ({ published: m.row.seconds, denoise: m.denoise, weight: rowWeight(m.row) })),
  );
  const rows = matched.map(({ row: r, denoise }) => ({
    config: r.degrees ? planShortString(r.degrees) : `best on ${r.gpus}`,
    gpus: r.gpus,
    published: r.seconds,
    predicted: offset + denoise,
    read: r.read,
    named: r.degrees !== undefined,
  }));

  // What the experiment measured, among the GPU counts it covered and the methods it compared: each
  // named row's plan, and every plan on a GPU count whose row names no degrees (that row is xDiT's best
  // there, which the planner's fastest plan there stands for). Each candidate's time outside the
  // denoiser is set to the table's, so the policy's margin is judged on the table's scale.
  const inRange = (g: number) => g >= table.gpus.min && g <= table.gpus.max;
  const compared = (c: Candidate) => table.cfgParallel !== false || c.degrees.cfg === 1;
  const unnamedRow = new Map(
    matched.filter((m) => !m.row.degrees && inRange(m.row.gpus)).map((m) => [m.row.gpus, m]),
  );
  const namedRow = new Map(
    matched
      .filter((m) => m.row.degrees && inRange(m.row.gpus))
      .map((m) => [planShortString(m.candidate.degrees), m]),
  );
  const measured = candidates
    .filter(
      (c) => compared(c) && (namedRow.has(planShortString(c.degrees)) || unnamedRow.has(c.gpusPerGroup)),
    )
    .map((c) => withOffset(c, offset));
  const policy = approximatePolicy(input.policy);
  /**
   * The default policy's choice among `plans` (the measured ones, with their predicted times) and its
   * published time: its row's, or — on a GPU count whose row names no degrees — that row's time scaled
   * by the plan's predicted time over the fastest plan there (never below the row).
   */
  const choose = (plans: readonly Candidate[]) => {
    const ranked = rankCandidates([...plans], 'latency');
    const decided = decide(ranked, policy, 'latency', rejected);
    if (!decided) throw new Error(`${table.id}: no feasible plan among the measured configurations`);
    const c = decided.chosen;
    const row = namedRow.get(planShortString(c.degrees));
    let published: number;
    if (row) {
      published = row.row.seconds;
    } else {
      const anchor = unnamedRow.get(c.gpusPerGroup);
      const fastest = Math.min(
        ...plans.filter((p) => p.gpusPerGroup === c.gpusPerGroup).map((p) => p.time.totalSeconds),
      );
      if (!anchor) throw new Error(`${table.id}: ${planShortString(c.degrees)} was not measured`);
      published = anchor.row.seconds * Math.max(1, c.time.totalSeconds / fastest);
    }
    const isBest = table.best.degrees !== undefined && same(c.degrees, table.best.degrees);
    const gap = (published - table.best.seconds) / table.best.seconds;
    return { ranked, decided, chosen: c, published, named: row !== undefined, isBest, gap };
  };
  const holds = (r: { isBest: boolean; gap: number }) => r.isBest || r.gap <= FIRST_CHOICE_TOLERANCE;
  const { ranked, decided, chosen, published: chosenPublished, named, isBest, gap } = choose(measured);
  // Robust: the check still holds with exact plans predicted ROBUSTNESS slower than approximate ones, or
  // faster, or with the chosen plan predicted 2 × ROBUSTNESS slower than every other.
  const scaled = (f: (c: Candidate) => number) =>
    measured.map((c) => ({ ...c, time: { ...c.time, totalSeconds: c.time.totalSeconds * f(c) } }));
  const robust = [
    scaled((c) => (isExact(c) ? 1 + ROBUSTNESS : 1 - ROBUSTNESS)),
    scaled((c) => (isExact(c) ? 1 - ROBUSTNESS : 1 + ROBUSTNESS)),
    scaled((c) => (same(c.degrees, chosen.degrees) ? 1 + 2 * ROBUSTNESS : 1)),
  ].every((plans) => holds(choose(plans)));
  const runnerUp = ranked.find((c) => c !== chosen);

  // The planner's own first choice over every plan on those GPU counts, measured or not.
  const counts = new Set(table.rows.map((r) => r.gpus).filter(inRange));
  const openRanked = rankCandidates(
    candidates.filter((c) => compared(c) && counts.has(c.gpusPerGroup)).map((c) => withOffset(c, offset)),
    'latency',
  );
  const openDecided = decide(openRanked, policy, 'latency', rejected);
  if (!openDecided) throw new Error(`${table.id}: no feasible plan on the measured GPU counts`);
  const openChosen = openDecided.chosen;

  return {
    id: table.id,
    rows,
    spearman: spearman(
      rows.map((r) => r.published),
      rows.map((r) => r.predicted),
    ),
    chosen: describeDegrees(chosen.degrees, chosen.gpusPerGroup),
    chosenDegrees: chosen.degrees,
    chosenPredicted: chosen.time.totalSeconds,
    chosenPublished,
    chosenPublishedBasis: named ? 'row' : 'best on its GPU count, scaled',
    decision: decided.decision.sentence,
    best: table.best.degrees
      ? describeDegrees(table.best.degrees, table.best.gpus)
      : `unnamed, on ${table.best.gpus} GPU(s)`,
    firstChoiceIsPublishedBest: isBest,
    gap,
    firstChoiceOk: holds({ isBest, gap }),
    robust,
    runnerUpMargin: runnerUp
      ? runnerUp.time.totalSeconds / chosen.time.totalSeconds - 1
      : Number.POSITIVE_INFINITY,
    open: {
      chosen: describeDegrees(openChosen.degrees, openChosen.gpusPerGroup),
      exact: isExact(openChosen),
      predicted: openChosen.time.totalSeconds,
      published: table.rows.find((r) => r.degrees && same(r.degrees, openChosen.degrees))?.seconds,
      decision: openDecided.decision.sentence,
    },
    bestIsExact: table.best.degrees ? table.best.degrees.pipefusion === 1 : undefined,
    offset,
  };
}
