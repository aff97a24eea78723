/**
 * Fits the cost model's global constants to xDiT's published latencies (test/calibration/published/)
 * by Nelder–Mead on bounded coordinates with seeded restarts, then writes
 * src/shared/planner/fitted-constants.ts. One fit covers every table: the link, latency, Ring-overlap,
 * PipeFusion and model-width constants are shared by both execution modes; compute efficiency, the host
 * floor and Ring's fixed costs are fitted per mode (compiled, eager).
 * Run: npx tsx tools/calibrate/fit-planner.ts [restarts]   (about a minute per restart on 2 loaded cores)
 *
 * Loss per table: squared log error of each published row (rows read off an axis or naming no
 * degrees weigh ½), a penalty for each pair of rows (published ≥ 5 % apart) predicted in the other
 * order, and a penalty when the default policy's first choice among the measured configurations is
 * neither the published best nor within 3 % of its time (a smaller one when it holds but is not robust to
 * a 1.5 % change of the predictions), and one when the published best is exact but the planner's choice over
 * every plan is approximate, except for the known disagreements. Each table's time outside the denoiser is fitted per table (test/calibration/evaluate.ts).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { COMPILED_PROFILE, EAGER_PROFILE, type EfficiencyProfile } from '../../src/shared/planner/index.js';
import { type PreparedTable, prepareTable, rowWeight, scoreTable } from '../../test/calibration/evaluate.js';
import { KNOWN_DISAGREEMENTS } from '../../test/calibration/known-disagreements.js';
import { PUBLISHED_TABLES } from '../../test/calibration/published/index.js';
import { rng } from '../../test/support/rng.js';

type NumericKey = {
  [K in keyof EfficiencyProfile]: EfficiencyProfile[K] extends number ? K : never;
}[keyof EfficiencyProfile];

interface Param {
  key: NumericKey;
  /** Which profile it sets: both, or one mode. */
  mode: 'shared' | 'compiled' | 'eager';
  min: number;
  max: number;
  start: number;
}

const PARAMS: Param[] = [
  { key: 'nvlinkEfficiency', mode: 'shared', min: 0.05, max: 0.95, start: 0.9359 },
  { key: 'pcieSwitchEfficiency', mode: 'shared', min: 0.05, max: 0.95, start: 0.3691 },
  { key: 'pcieEfficiency', mode: 'shared', min: 0.02, max: 0.95, start: 0.9475 },
  { key: 'crossSocketEfficiency', mode: 'shared', min: 0.005, max: 0.95, start: 0.507 },
  { key: 'networkEfficiency', mode: 'shared', min: 0.02, max: 0.95, start: 0.9472 },
  { key: 'pcieAllToAllEfficiency', mode: 'shared', min: 0.01, max: 1, start: 0.08591 },
  { key: 'crossSocketAllToAllEfficiency', mode: 'shared', min: 0.005, max: 1, start: 0.03387 },
  { key: 'collectiveLatencySeconds', mode: 'shared', min: 2e-6, max: 3e-4, start: 0.00003997 },
  { key: 'crossSocketLatencySeconds', mode: 'shared', min: 5e-6, max: 5e-3, start: 0.00000517 },
  { key: 'ringOverlap', mode: 'shared', min: 0, max: 1, start: 0.3173 },
  { key: 'patchSeconds', mode: 'shared', min: 1e-6, max: 2e-2, start: 0.001534 },
  { key: 'halfEfficiencyWidth', mode: 'shared', min: 10, max: 5000, start: 576.4 },
  { key: 'halfEfficiencyTokens', mode: 'shared', min: 8, max: 4096, start: 46.83 },
  { key: 'halfEfficiencyHeadDim', mode: 'shared', min: 1, max: 1000, start: 18.23 },
  { key: 'networkLatencySeconds', mode: 'shared', min: 5e-6, max: 2e-2, start: 0.0007531 },
  { key: 'computeEfficiency', mode: 'compiled', min: 0.2, max: 1, start: 0.8184 },
  { key: 'ringLayerSeconds', mode: 'compiled', min: 1e-6, max: 2e-3, start: 0.00004642 },
  { key: 'ringStepSeconds', mode: 'compiled', min: 1e-6, max: 1e-3, start: 0.00005932 },
  { key: 'computeEfficiency', mode: 'eager', min: 0.1, max: 1, start: 0.8484 },
  { key: 'hostSecondsPerLayer', mode: 'eager', min: 1e-5, max: 1e-2, start: 0.00003169 },
  { key: 'ringLayerSeconds', mode: 'eager', min: 1e-6, max: 3e-3, start: 0.0007701 },
  { key: 'ringStepSeconds', mode: 'eager', min: 1e-6, max: 1e-3, start: 0.00004103 },
];

/** Quantities spanning decades are fitted in log space. */
const logScale = (p: Param) => p.min > 0 && p.max / p.min > 100;
const transform = (p: Param, v: number) => (logScale(p) ? Math.log(v) : v);
const span = (p: Param) => transform(p, p.max) - transform(p, p.min);

/** Maps a parameter to an unbounded coordinate (logit of its position in [min, max]) and back. */
function toCoord(p: Param, v: number): number {
  const x = Math.min(1 - 1e-6, Math.max(1e-6, (transform(p, v) - transform(p, p.min)) / span(p)));
  return Math.log(x / (1 - x));
}
function fromCoord(p: Param, c: number): number {
  const x = 1 / (1 + Math.exp(-c));
  const t = transform(p, p.min) + x * span(p);
  return logScale(p) ? Math.exp(t) : t;
}

function profiles(x: readonly number[]): { compiled: EfficiencyProfile; eager: EfficiencyProfile } {
  const compiled: EfficiencyProfile = { ...COMPILED_PROFILE };
  const eager: EfficiencyProfile = { ...EAGER_PROFILE };
  PARAMS.forEach((p, i) => {
    const v = fromCoord(p, x[i] ?? 0);
    if (p.mode !== 'eager') compiled[p.key] = v;
    if (p.mode !== 'compiled') eager[p.key] = v;
  });
  return { compiled, eager };
}

function tableLoss(prepared: PreparedTable, profile: EfficiencyProfile): number {
  const r = scoreTable(prepared, profile);
  let loss = 0;
  r.rows.forEach((row, i) => {
    const source = prepared.table.rows[i];
    const weight = source ? rowWeight(source) : 0.5;
    loss += weight * Math.log(row.predicted / row.published) ** 2;
  });
  for (const a of r.rows) {
    for (const b of r.rows) {
      if (a.published * 1.05 >= b.published) continue;
      if (a.predicted >= b.predicted) loss += 0.02 + Math.log(a.predicted / b.predicted) ** 2;
    }
  }
  // A known disagreement (test/calibration/known-disagreements.ts) cannot hold; its rows still count.
  if (KNOWN_DISAGREEMENTS[r.id]) return loss;
  // Where xDiT measured an exact plan fastest, the planner's choice over every plan must be exact too.
  if (r.bestIsExact && !r.open.exact) loss += 2;
  if (!r.firstChoiceOk) loss += 2 + 4 * Math.log(1 + r.gap) ** 2;
  // A choice that a 1.5 % change of the predictions would tip is kept clear of the limits.
  else if (!r.robust) loss += 1;
  return loss;
}

function totalLoss(prepared: readonly PreparedTable[], x: readonly number[]): number {
  const p = profiles(x);
  return prepared.reduce((s, t) => s + tableLoss(t, t.table.mode === 'compiled' ? p.compiled : p.eager), 0);
}

/** Nelder–Mead on the unbounded coordinates. */
function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  iterations: number,
): { x: number[]; fx: number } {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + 1 : v)))].map((x) => ({
    x,
    fx: f(x),
  }));
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.fx - b.fx);
    const best = simplex[0] as { x: number[]; fx: number };
    const worst = simplex[n] as { x: number[]; fx: number };
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + (p.x[j] ?? 0), 0) / n);
    const along = (t: number) => centroid.map((c, j) => c + t * ((worst.x[j] ?? 0) - c));
    const r = { x: along(-1), fx: 0 };
    r.fx = f(r.x);
    if (r.fx < best.fx) {
      const e = { x: along(-2), fx: 0 };
      e.fx = f(e.x);
      simplex[n] = e.fx < r.fx ? e : r;
    } else if (r.fx < (simplex[n - 1] as { fx: number }).fx) {
      simplex[n] = r;
    } else {
      const c = { x: along(0.5), fx: 0 };
      c.fx = f(c.x);
      if (c.fx < worst.fx) simplex[n] = c;
      else
        simplex = simplex.map((p, i) => {
          if (i === 0) return p;
          const x = p.x.map((v, j) => (best.x[j] ?? 0) + 0.5 * (v - (best.x[j] ?? 0)));
          return { x, fx: f(x) };
        });
    }
  }
  simplex.sort((a, b) => a.fx - b.fx);
  return simplex[0] as { x: number[]; fx: number };
}

const restarts = Number(process.argv[2] ?? 6);
// Held-out tables (PublishedTable.heldOut says why) test the fitted model instead of shaping it.
const FITTED_TABLES = PUBLISHED_TABLES.filter((t) => t.heldOut === undefined);
const prepared = FITTED_TABLES.map((t) =>
  prepareTable(t, t.mode === 'compiled' ? COMPILED_PROFILE : EAGER_PROFILE),
);
const f = (x: number[]) => totalLoss(prepared, x);
const random = rng(42);
// Fixed starting points (an earlier fit's values, written here), so that a rerun reproduces the same fit.
let best = { x: PARAMS.map((p) => toCoord(p, p.start)), fx: 0 };
best.fx = f(best.x);
for (let restart = 0; restart < restarts; restart++) {
  const x0 = restart === 0 ? best.x : best.x.map((v) => v + (random() - 0.5) * 2);
  let r = nelderMead(f, x0, 1500);
  r = nelderMead(f, r.x, 800);
  if (r.fx < best.fx) best = r;
  console.error(`restart ${restart}: loss ${r.fx.toFixed(4)} (best ${best.fx.toFixed(4)})`);
}

const round = (v: number) => Number(v.toPrecision(4));
const fitted = profiles(best.x);
/** Per mode, the median of the tables' fitted times outside the denoiser: what a request costs besides it. */
function medianOffset(mode: 'compiled' | 'eager'): number {
  const offsets = prepared
    .filter((t) => t.table.mode === mode)
    .map((t) => scoreTable(t, fitted[mode]).offset)
    .sort((a, b) => a - b);
  return offsets[Math.floor(offsets.length / 2)] ?? 0;
}
const lines = (mode: 'compiled' | 'eager') =>
  [
    ...PARAMS.filter((p) => p.mode === mode || (mode === 'compiled' && p.mode === 'shared')).map(
      (p) => `  ${p.key}: ${round(fitted[mode][p.key])},`,
    ),
    `  requestOverheadSeconds: ${round(medianOffset(mode))},`,
  ].join('\n');
const OUT = resolve(import.meta.dirname, '../../src/shared/planner/fitted-constants.ts');
writeFileSync(
  OUT,
  '// Generated by tools/calibrate/fit-planner.ts from test/calibration/published/; do not edit.\n' +
    `// Loss ${best.fx.toFixed(4)} over ${FITTED_TABLES.length} tables (${PUBLISHED_TABLES.length - FITTED_TABLES.length} held out), ${restarts} restarts.\n\n` +
    `/** The compiled mode's constants and those both modes share. */\nexport const FITTED_COMPILED = {\n${lines('compiled')}\n} as const;\n\n` +
    `/** What the eager mode refits. */\nexport const FITTED_EAGER = {\n${lines('eager')}\n} as const;\n`,
);
console.log(`wrote ${OUT}`);
