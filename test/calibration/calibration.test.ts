import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/shared/planner/index.js';
import { evaluateTable, spearman } from './evaluate.js';
import { PUBLISHED_TABLES } from './xdit-published.js';

/**
 * The planner against the published xDiT latencies (docs/planner.md): for each table its first choice
 * is the published best or within 5 % of the published best time, the published orderings hold, and
 * the predicted ranking of the published configurations agrees with the published one.
 */
describe('calibration against published xDiT results', () => {
  it('computes Spearman correlation with ties', () => {
    expect(spearman([1, 2, 3], [10, 20, 30])).toBeCloseTo(1);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1);
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8);
    expect(spearman([1], [1])).toBeNull();
  });

  for (const table of PUBLISHED_TABLES) {
    describe(table.id, () => {
      const profile = PROFILES[table.profile];
      if (!profile) throw new Error(`no efficiency profile '${table.profile}'`);
      const result = evaluateTable(table, profile);
      const rho = result.spearman === null ? 'n/a (fewer than 2 rows)' : result.spearman.toFixed(3);
      console.log(
        `${table.id}: first choice ${result.chosen} predicted ${result.chosenPredicted.toFixed(2)} s ` +
          `(published best ${table.best.seconds} s), Spearman ${rho}`,
      );

      it('first choice is the published best or within 5 % of its time', () => {
        expect(
          result.firstChoiceOk,
          `${result.chosen} predicted ${result.chosenPredicted.toFixed(3)} s vs ${table.best.seconds} s`,
        ).toBe(true);
      });

      it('keeps the orderings the source states', () => {
        expect(result.orderingsOk, result.orderingDetails.join('; ')).toBe(true);
      });

      if (result.spearman !== null) {
        it('ranks the published configurations as published', () => {
          const min = result.rows.length > 2 ? 0.9 : 1;
          expect(result.spearman).toBeGreaterThanOrEqual(min);
        });
      }

      it('predicts each published time within 20 % (25 % for approximate figures)', () => {
        for (const row of result.rows) {
          const error = Math.abs(row.predicted - row.published) / row.published;
          expect(
            error,
            `${row.config}: predicted ${row.predicted.toFixed(2)} s vs ${row.published} s`,
          ).toBeLessThan(row.approximate ? 0.25 : 0.2);
        }
      });
    });
  }
});
