import { PROFILES } from '../../src/shared/planner/index.js';
import { evaluateTable } from '../../test/calibration/evaluate.js';
import { PUBLISHED_TABLES } from '../../test/calibration/xdit-published.js';

/** Prints the calibration result of the current profiles against every published table. */
for (const table of PUBLISHED_TABLES) {
  const profile = PROFILES[table.profile];
  if (!profile) throw new Error(`no profile '${table.profile}'`);
  const r = evaluateTable(table, profile);
  console.log(`\n${r.id} (${table.profile})`);
  for (const row of r.rows) {
    const err = ((row.predicted - row.published) / row.published) * 100;
    console.log(
      `  ${row.config.padEnd(20)} published ${row.published.toFixed(2)} s  predicted ${row.predicted.toFixed(2)} s  ${err >= 0 ? '+' : ''}${err.toFixed(1)} %${row.approximate ? '  (approximate)' : ''}`,
    );
  }
  console.log(`  spearman ${r.spearman === null ? 'n/a' : r.spearman.toFixed(3)}`);
  console.log(
    `  first choice ${r.chosen} predicted ${r.chosenPredicted.toFixed(2)} s; published best ${table.best.seconds} s; ` +
      `${r.firstChoiceIsPublishedBest ? 'is the published best' : 'differs'}; error ${(r.firstChoiceError * 100).toFixed(1)} % → ${r.firstChoiceOk ? 'ok' : 'FAIL'}`,
  );
  for (const d of r.orderingDetails) console.log(`  ${d}`);
}
