import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/shared/planner/index.js';
import { evaluateTable, FIRST_CHOICE_TOLERANCE, ROBUSTNESS, spearman } from './evaluate.js';
import { KNOWN_DISAGREEMENTS } from './known-disagreements.js';
import { EXCLUDED_TABLES, PUBLISHED_TABLES } from './published/index.js';

/**
 * The planner against xDiT's published latencies (docs/planner.md). For each table, the default
 * policy's first choice among what the experiment measured (each named configuration; every plan on a
 * GPU count whose published time names no degrees) must be the published best, or its published time
 * within 3 % of the published best's. Where the published best is exact, the planner's own first choice
 * over every plan must be exact too (no PipeFusion where xDiT measured an exact plan fastest). Every
 * table prints both choices, the published best, the gap and Spearman's ρ over its rows.
 */
describe('calibration against published xDiT results', () => {
  it('computes Spearman correlation with ties', () => {
    expect(spearman([1, 2, 3], [10, 20, 30])).toBeCloseTo(1);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1);
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8);
    expect(spearman([1], [1])).toBeNull();
  });

  it('holds every table with its source, and says why each left-out table is left out', () => {
    for (const t of PUBLISHED_TABLES) {
      expect(t.source.url, t.id).toMatch(
        /^https:\/\/(github\.com|raw\.githubusercontent\.com)\/xdit-project\//,
      );
      expect(t.rows.length, t.id).toBeGreaterThan(0);
      expect(Number.isFinite(t.best.seconds), t.id).toBe(true);
      expect(Math.min(...t.rows.map((r) => r.seconds)), `${t.id}: the best is the fastest row`).toBe(
        t.best.seconds,
      );
    }
    expect(new Set(PUBLISHED_TABLES.map((t) => t.id)).size).toBe(PUBLISHED_TABLES.length);
    for (const e of EXCLUDED_TABLES) expect(e.why.length).toBeGreaterThan(20);
    for (const id of Object.keys(KNOWN_DISAGREEMENTS)) {
      expect(
        PUBLISHED_TABLES.some((t) => t.id === id),
        id,
      ).toBe(true);
    }
  });

  for (const table of PUBLISHED_TABLES) {
    const known = KNOWN_DISAGREEMENTS[table.id];
    const title = known
      ? `${table.id}: a known disagreement, printed with its reason (fails loudly once it holds)`
      : `${table.id}: first choice is the published best or within 3 % of its time`;
    it(title, () => {
      const profile = PROFILES[table.mode];
      if (!profile) throw new Error(`no efficiency profile '${table.mode}'`);
      const r = evaluateTable(table, profile);
      const rho = r.spearman === null ? 'n/a' : r.spearman.toFixed(2);
      console.log(
        `${table.id}: first choice ${r.chosen} (published ${r.chosenPublished.toFixed(2)} s` +
          `${r.chosenPublishedBasis === 'row' ? '' : `, ${r.chosenPublishedBasis}`}); published best ${r.best} ` +
          `${table.best.seconds} s; gap ${(r.gap * 100).toFixed(1)} %${r.firstChoiceOk && !r.robust ? ` (a ±${ROBUSTNESS * 100} % change of the predictions could tip it)` : ''}; ` +
          `Spearman ${rho} over ${r.rows.length} rows; ` +
          `over every plan ${r.open.chosen} (${r.open.exact ? 'exact' : 'approximate'}, ${
            r.open.published !== undefined ? `published ${r.open.published} s` : 'not measured by xDiT'
          })${known ? `; KNOWN DISAGREEMENT: ${known}` : ''}`,
      );
      // A known disagreement's reason says what the planner picks instead (PipeFusion on the T4s).
      if (r.bestIsExact && !known) {
        expect(r.open.exact, `${r.open.chosen} is approximate; ${r.open.decision}`).toBe(true);
      }
      if (known) {
        expect(r.firstChoiceOk, `${table.id} now holds: take it out of KNOWN_DISAGREEMENTS`).toBe(false);
        return;
      }
      expect(
        r.firstChoiceOk,
        `${r.chosen}: gap ${(r.gap * 100).toFixed(1)} % > ${FIRST_CHOICE_TOLERANCE * 100} %; ${r.decision}`,
      ).toBe(true);
    });
  }
});
