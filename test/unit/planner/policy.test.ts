import { describe, expect, it } from 'vitest';
import { gpuSpec } from '../../../src/shared/hardware/index.js';
import { planShortString } from '../../../src/shared/plan/index.js';
import {
  type ApproximatePolicy,
  isExact,
  objectiveValue,
  type PlannerInput,
  plan,
} from '../../../src/shared/planner/index.js';
import { input } from './fixtures.js';

/** Best exact and best approximate objective values of an input's candidates, whatever the policy. */
function bests(i: PlannerInput): { exact: number; approximate: number } {
  const all = plan({ ...i, policy: { ...i.policy, approximate: { rule: 'exact-first', margin: 1 } } });
  const value = (exact: boolean) =>
    Math.min(...all.candidates.filter((c) => isExact(c) === exact).map((c) => objectiveValue(c, 'latency')));
  return { exact: value(true), approximate: value(false) };
}

const withPolicy = (i: PlannerInput, approximate: ApproximatePolicy): PlannerInput => ({
  ...i,
  policy: { ...i.policy, approximate },
});

describe('approximate policy: exact methods first', () => {
  // FLUX.1-dev on 4×H100 at 1024²: PipeFusion 4 is predicted close to Ulysses 4 (xDiT measured u4 best).
  const h100 = input('flux-dev', { policy: { gpusPerGroup: 4 } });

  it('FLUX.1-dev on 4×H100 at 1024² with the default policy chooses an exact plan and says why', () => {
    const r = plan(h100);
    expect(isExact(r.chosen)).toBe(true);
    // The plan xDiT measured fastest there (docs/performance/flux.md: 1.63 s compiled, 4.24 s eager).
    expect(planShortString(r.chosen.degrees)).toBe('dp1·cfg1·pp1·r1·u4');
    expect(r.decision?.policy).toEqual({ rule: 'exact-first', margin: 0.1 });
    expect(r.decision?.rule).toBe('within-margin');
    expect(r.chosen.reason).toMatch(
      /exact first: the best approximate plan .* (is only .* better, under|is no better)/,
    );
    expect(r.candidates[0]?.degrees).toEqual(r.chosen.degrees);
    console.log(`flux-dev 4×H100 1024² default policy: ${r.chosen.reason}`);
  });

  it('takes an approximate plan only beyond the margin, and says so', () => {
    const { exact, approximate } = bests(h100);
    const saving = (exact - approximate) / exact;
    // A margin just under the predicted saving flips the choice; just over it keeps the exact plan.
    if (saving > 0) {
      const flipped = plan(withPolicy(h100, { rule: 'exact-first', margin: saving * 0.99 }));
      expect(isExact(flipped.chosen)).toBe(false);
      expect(flipped.decision?.rule).toBe('beyond-margin');
      expect(flipped.chosen.reason).toMatch(
        /approximate \(PipeFusion\) is .* better than the best exact plan/,
      );
    }
    const kept = plan(withPolicy(h100, { rule: 'exact-first', margin: Math.max(saving, 0) * 1.01 + 1e-9 }));
    expect(isExact(kept.chosen)).toBe(true);
  });

  it('chooses approximate when no exact plan fits in memory', () => {
    // FLUX.1-dev's 23.8 GB of bf16 weights cannot sit whole on a 24 GB card: only PipeFusion stages fit.
    const small = input('flux-dev', {
      hardware: {
        gpu: gpuSpec('rtx-4090'),
        gpusPerNode: 8,
        nodesAvailable: 1,
        intraNode: 'pcie',
        interNodeGbps: 100,
      },
      policy: { gpusPerGroup: 4 },
    });
    const r = plan(small);
    expect(isExact(r.chosen)).toBe(false);
    expect(r.decision?.rule).toBe('no-exact-feasible');
    expect(r.chosen.reason).toContain('no exact plan fits in GPU memory');
  });

  it('prefer: approximate unless exact wins by the margin; forbid: exact only', () => {
    const preferred = plan(withPolicy(h100, { rule: 'prefer', margin: 0.1 }));
    const { exact, approximate } = bests(h100);
    const exactSaving = (approximate - exact) / approximate;
    expect(isExact(preferred.chosen)).toBe(exactSaving >= 0.1);
    expect(preferred.chosen.reason).toMatch(/prefer approximate/);
    const forbidden = plan(withPolicy(h100, { rule: 'forbid', margin: 0.1 }));
    expect(forbidden.candidates.every(isExact)).toBe(true);
    expect(forbidden.decision?.rule).toBe('only-exact');
    expect(forbidden.chosen.reason).toContain('forbidden by the policy');
    expect(forbidden.rejected.some((r) => r.violations.some((v) => v.rule === 'pipefusion-policy'))).toBe(
      true,
    );
  });

  it('margin 0 with exact-first is the plain fastest plan', () => {
    const r = plan(withPolicy(h100, { rule: 'exact-first', margin: 0 }));
    const fastest = Math.min(...r.candidates.map((c) => c.time.totalSeconds));
    expect(r.chosen.predicted.totalSeconds).toBe(fastest);
    expect(planShortString(r.chosen.degrees)).toBe(
      planShortString(r.candidates[0]?.degrees ?? r.chosen.degrees),
    );
  });
});
