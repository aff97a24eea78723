import { describe, expect, it } from 'vitest';
import type { Degrees } from '../../../src/shared/plan/index.js';
import {
  type Candidate,
  COMPILED_PROFILE,
  EAGER_PROFILE,
  explore,
  type PlannerInput,
} from '../../../src/shared/planner/index.js';
import { deg, h100Nodes, input } from './fixtures.js';

function predict(i: PlannerInput, d: Degrees): Candidate {
  const { candidates, rejected } = explore({ ...i, policy: { ...i.policy, degrees: d } });
  const c = candidates[0];
  if (!c) throw new Error(`rejected: ${JSON.stringify(rejected)}`);
  return c;
}

describe('cost model', () => {
  it('splits compute over sequence-parallel ranks and charges Ulysses its all-to-alls', () => {
    const one = predict(input('flux-dev'), deg({}));
    const u4 = predict(input('flux-dev'), deg({ ulysses: 4 }));
    expect(one.time.step.ulysses).toBe(0);
    expect(u4.time.step.ulysses).toBeGreaterThan(0);
    // Smaller GEMMs are less efficient, so the split is a little worse than 4× but better than 3×.
    expect(u4.time.step.compute).toBeGreaterThan(one.time.step.compute / 4);
    expect(u4.time.step.compute).toBeLessThan(one.time.step.compute / 3);
  });

  it('charges more for an axis that crosses nodes than one inside a node', () => {
    const inside = predict(input('flux-dev', { hardware: h100Nodes(2) }), deg({ ulysses: 2 }));
    const across = predict(
      input('flux-dev', { hardware: h100Nodes(2, { gpusPerNode: 1, interNodeGbps: 100 }) }),
      deg({ ulysses: 2 }),
    );
    expect(inside.links.ulysses).toBe('domain');
    expect(across.links.ulysses).toBe('network');
    expect(across.time.step.ulysses).toBeGreaterThan(10 * inside.time.step.ulysses);
  });

  it('charges Ring only what its overlap does not hide, plus its per-layer costs', () => {
    const r4 = predict(input('flux-dev'), deg({ ring: 4 }));
    expect(r4.time.step.ring).toBeGreaterThan(0);
    expect(r4.time.step.ulysses).toBe(0);
  });

  it('adds PipeFusion warm-up and pipeline fill once per request', () => {
    const pp4 = predict(input('flux-dev'), deg({ pipefusion: 4 }));
    const t = pp4.time;
    expect(pp4.patches).toBe(4);
    expect(pp4.warmupSteps).toBe(1);
    expect(t.warmupSeconds).toBeGreaterThan(t.stepSeconds);
    expect(t.bubbleSeconds).toBeCloseTo((3 / 4) * (t.stepSeconds - t.step.cfg), 6);
    expect(t.totalSeconds).toBeCloseTo(
      t.overheadSeconds + t.vaeSeconds + t.warmupSeconds + 27 * t.stepSeconds + t.bubbleSeconds,
      9,
    );
  });

  it('CFG parallel costs one small gather per step and halves the work per rank', () => {
    const cfg1 = predict(input('sd3-medium', { policy: { gpusPerGroup: 2 } }), deg({ ulysses: 2 }));
    const cfg2 = predict(input('sd3-medium', { policy: { gpusPerGroup: 2 } }), deg({ cfg: 2 }));
    expect(cfg2.time.step.cfg).toBeGreaterThan(0);
    expect(cfg2.time.step.cfg).toBeLessThan(cfg2.time.step.compute / 100);
    expect(cfg2.time.totalSeconds).toBeLessThan(cfg1.time.totalSeconds);
  });

  it('data parallel has no communication and raises throughput with a batch', () => {
    const batch = { request: { maxBatch: 4 } };
    const dp4 = predict(input('flux-dev', batch), deg({ dataParallel: 4 }));
    const u4 = predict(input('flux-dev', batch), deg({ ulysses: 4 }));
    expect(dp4.time.step.ulysses + dp4.time.step.ring + dp4.time.step.cfg + dp4.time.step.pipefusion).toBe(0);
    expect(dp4.imagesPerSecond).toBeGreaterThan(u4.imagesPerSecond);
  });

  it('eager kernels are slower than compiled ones', () => {
    const compiled = predict({ ...input('flux-dev'), profile: COMPILED_PROFILE }, deg({ ulysses: 4 }));
    const eager = predict({ ...input('flux-dev'), profile: EAGER_PROFILE }, deg({ ulysses: 4 }));
    expect(eager.time.totalSeconds).toBeGreaterThan(compiled.time.totalSeconds * 1.5);
  });
});
