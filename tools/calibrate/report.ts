/**
 * Prints the calibration of the current profiles against every published table: each published
 * configuration's predicted time, then the default policy's first choice against the published best.
 * Run: npx tsx tools/calibrate/report.ts
 */
import { PROFILES } from '../../src/shared/planner/index.js';
import { evaluateTable, ROBUSTNESS } from '../../test/calibration/evaluate.js';
import { KNOWN_DISAGREEMENTS } from '../../test/calibration/known-disagreements.js';
import { PUBLISHED_TABLES } from '../../test/calibration/published/index.js';

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
let ok = 0;
let robust = 0;
for (const table of PUBLISHED_TABLES) {
  const profile = PROFILES[table.mode];
  if (!profile) throw new Error(`no profile '${table.mode}'`);
  const r = evaluateTable(table, profile);
  console.log(`\n${r.id} (${table.mode}; ${r.offset.toFixed(2)} s outside the denoiser)`);
  for (const row of r.rows) {
    console.log(
      `  ${row.config.padEnd(22)} ${String(row.gpus).padStart(2)} GPUs  published ${row.published.toFixed(2).padStart(7)} s  predicted ${row.predicted.toFixed(2).padStart(7)} s  ${pct((row.predicted - row.published) / row.published).padStart(8)}  (${row.read})`,
    );
  }
  console.log(
    `  first choice among the measured ${r.chosen} (predicted ${r.chosenPredicted.toFixed(2)} s, published ${r.chosenPublished.toFixed(2)} s` +
      `${r.chosenPublishedBasis === 'row' ? '' : ` = ${r.chosenPublishedBasis}`}); published best ${r.best} ${table.best.seconds} s; ` +
      `gap ${pct(r.gap)}; ρ ${r.spearman === null ? 'n/a' : r.spearman.toFixed(2)} → ${r.firstChoiceOk ? 'ok' : 'FAIL'}` +
      `${r.firstChoiceOk && !r.robust ? ` (not robust: a ±${ROBUSTNESS * 100} % change of the predictions could tip it)` : ''}`,
  );
  console.log(`  ${r.decision}`);
  console.log(
    `  over every plan: ${r.open.chosen}, ${r.open.exact ? 'exact' : 'approximate'}, predicted ${r.open.predicted.toFixed(2)} s` +
      `${r.open.published !== undefined ? `, published ${r.open.published} s` : ', not measured by xDiT'}; ${r.open.decision}`,
  );
  const known = KNOWN_DISAGREEMENTS[r.id];
  if (known) console.log(`  known disagreement: ${known}`);
  if (r.firstChoiceOk) ok++;
  if (r.firstChoiceOk && r.robust) robust++;
}
console.log(
  `\n${ok} of ${PUBLISHED_TABLES.length} tables: first choice is the published best or within 3 % (${robust} of them robust to ±${ROBUSTNESS * 100} %)`,
);
