import { describe, expect, it } from 'vitest';
import { gpuSpec } from '../../../src/shared/hardware/index.js';
import type { Degrees } from '../../../src/shared/plan/index.js';
import {
  type Candidate,
  COMPILED_PROFILE,
  EAGER_PROFILE,
  explore,
  type PlannerInput,
} from '../../../src/shared/planner/index.js';
import { deg, h100Nodes, input, l40Node } from './fixtures.js';

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

  it('prices all-to-all over PCIe as xDiT measured it: Ulysses > 2 loses to Ulysses 2 × Ring on L40', () => {
    // FLUX.1-schnell on 8×L40 (xDiT's docs/performance/flux.md: u2·r2 on 4 and u2·r4 on 8 are best).
    const l40 = (gpus: number) =>
      input('flux-schnell', { request: { steps: 4 }, hardware: l40Node(), policy: { gpusPerGroup: gpus } });
    const u2 = predict(l40(2), deg({ ulysses: 2 }));
    const u4 = predict(l40(4), deg({ ulysses: 4 }));
    const u2r2 = predict(l40(4), deg({ ulysses: 2, ring: 2 }));
    const u8 = predict(l40(8), deg({ ulysses: 8 }));
    const u2r4 = predict(l40(8), deg({ ulysses: 2, ring: 4 }));
    const one = predict(l40(1), deg({}));
    expect(u2.links.ulysses).toBe('switch');
    expect(u4.links.ulysses).toBe('domain');
    // Ulysses 2 under one PCIe switch still scales; beyond the switch it loses to Ring.
    expect(u2.time.totalSeconds).toBeLessThan(one.time.totalSeconds);
    expect(u4.time.totalSeconds).toBeGreaterThan(u2r2.time.totalSeconds);
    expect(u8.time.totalSeconds).toBeGreaterThan(u2r4.time.totalSeconds);
    // On NVLink the same all-to-all is cheap: Ulysses 4 beats Ulysses 2 × Ring 2 on H100.
    const h100 = input('flux-schnell', { request: { steps: 4 }, policy: { gpusPerGroup: 4 } });
    expect(predict(h100, deg({ ulysses: 4 })).time.totalSeconds).toBeLessThan(
      predict(h100, deg({ ulysses: 2, ring: 2 })).time.totalSeconds,
    );
    console.log(
      `flux-schnell 1024² on L40: u2 ${u2.time.totalSeconds.toFixed(2)} s, u4 ${u4.time.totalSeconds.toFixed(2)} s ` +
        `vs u2·r2 ${u2r2.time.totalSeconds.toFixed(2)} s, u8 ${u8.time.totalSeconds.toFixed(2)} s vs u2·r4 ` +
        `${u2r4.time.totalSeconds.toFixed(2)} s`,
    );
  });

  it('limits a power-capped GPU to what it sustains, and leaves a GPU that holds its clocks alone', () => {
    const one = (sustainedFlops?: number) => {
      const gpu = { ...gpuSpec('l40'), ...(sustainedFlops !== undefined ? { sustainedFlops } : {}) };
      return predict(input('flux-dev', { hardware: l40Node({ gpu }) }), deg({})).time;
    };
    const peak = gpuSpec('l40').denseBf16Flops;
    const free = one();
    // Above what the fitted efficiency reaches of the peak: no change.
    expect(one(peak).step.compute).toBe(free.step.compute);
    // A quarter of the peak sustained: every kernel runs at that rate instead of the fitted share of the peak.
    const capped = one(peak / 4);
    expect(capped.step.compute / free.step.compute).toBeCloseTo(4 * COMPILED_PROFILE.computeEfficiency, 6);
    expect(capped.vaeSeconds).toBeGreaterThan(free.vaeSeconds);
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

  it('eager kernels have a host floor: a step is never faster than launching its blocks', () => {
    const small = input('flux-dev', { request: { height: 256, width: 256 } });
    // A host slower than the device (the fitted eager floor is far below a step at any published size).
    const slowHost = { ...EAGER_PROFILE, hostSecondsPerLayer: 0.01 };
    const eager = predict({ ...small, profile: slowHost }, deg({ ulysses: 8 }));
    const compiled = predict({ ...small, profile: COMPILED_PROFILE }, deg({ ulysses: 8 }));
    expect(eager.time.stepSeconds).toBeCloseTo(57 * slowHost.hostSecondsPerLayer, 9);
    expect(eager.time.step.host).toBeGreaterThan(0);
    expect(compiled.time.step.host).toBe(0);
    expect(compiled.time.stepSeconds).toBeLessThan(eager.time.stepSeconds);
  });
});
