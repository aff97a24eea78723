import { describe, expect, it } from 'vitest';
import { gpuSpec } from '../../../src/shared/hardware/index.js';
import type { Degrees } from '../../../src/shared/plan/index.js';
import {
  COMPILED_PROFILE,
  explore,
  NoFeasiblePlanError,
  PlannerInputError,
  plan,
  planWithDegrees,
  type Rejection,
  type RuleId,
  XDIT_RUNTIME,
} from '../../../src/shared/planner/index.js';
import { choosePatches } from '../../../src/shared/planner/rules.js';
import { deg, h100Nodes, input } from './fixtures.js';

/** The violations of one manual plan (an empty list when it is accepted). */
function violationsOf(i: ReturnType<typeof input>, d: Degrees): { rule: RuleId; reason: string }[] {
  const { rejected } = explore({ ...i, policy: { ...i.policy, degrees: d } });
  return rejected.flatMap((r: Rejection) => r.violations);
}

function only(i: ReturnType<typeof input>, d: Degrees, rule: RuleId): string {
  const v = violationsOf(i, d);
  expect(v.map((x) => x.rule)).toEqual([rule]);
  return v[0]?.reason ?? '';
}

describe('planner rules, each with its reason', () => {
  it('ulysses must divide the heads', () => {
    const i = input('flux-dev', { request: { height: 960, width: 960 } });
    // 960 px → 60 patch rows, divisible by 5, so only the head rule fails.
    expect(only(i, deg({ ulysses: 5 }), 'ulysses-heads')).toBe(
      'ulysses=5 does not divide heads=24 of flux-dev',
    );
    expect(violationsOf(i, deg({ ulysses: 6 }))).toEqual([]);
  });

  it('the latent height must divide by the sequence-parallel degree', () => {
    const i = input('flux-dev', { request: { height: 1040, width: 1024 } });
    // 1040 px / 16 = 65 patch rows: odd, so no even split over ulysses×ring = 2·2.
    const reason = only(i, deg({ ulysses: 2, ring: 2 }), 'sp-latent-height');
    expect(reason).toContain('latent height 65');
    expect(reason).toContain('ulysses×ring=4');
    expect(violationsOf(i, deg({ dataParallel: 1, pipefusion: 4 }))).toEqual([]);
  });

  it('cfg is 1 or 2', () => {
    const i = input('sd3-medium', { policy: { gpusPerGroup: 3 } });
    expect(only(i, deg({ cfg: 3 }), 'cfg-value')).toContain('cfg is 1 or 2');
  });

  it('cfg=2 only for models with true CFG', () => {
    expect(only(input('flux-dev'), deg({ cfg: 2 }), 'cfg-model')).toBe(
      'cfg=2 needs true classifier-free guidance, but flux-dev is guidance-distilled (one branch)',
    );
    expect(violationsOf(input('sd3-medium'), deg({ cfg: 2 }))).toEqual([]);
  });

  it('pipeline stages cannot exceed the blocks', () => {
    const i = input('pixart-sigma', { hardware: h100Nodes(4), request: { height: 2048, width: 2048 } });
    const reason = only(i, deg({ pipefusion: 32 }), 'pipefusion-blocks');
    expect(reason).toBe('pipefusion=32 exceeds the 28 transformer blocks of pixart-sigma');
  });

  it('pipeline patch heights are multiples of patch size × sequence-parallel degree', () => {
    // 1024 px → 64 patch rows; 5 patches do not divide them.
    const i = input('sd3-medium', { policy: { gpusPerGroup: 4, pipelinePatches: 5 } });
    const reason = only(i, deg({ pipefusion: 2, ulysses: 2 }), 'pipefusion-patch-height');
    expect(reason).toContain('5 pipeline patches');
    expect(reason).toContain('ulysses×ring=2');
    // Without a request the planner picks the nearest valid count, starting at the pipeline degree.
    expect(choosePatches(deg({ pipefusion: 3 }), 64, undefined)).toEqual({ patches: 4 });
    expect(choosePatches(deg({ pipefusion: 2, ulysses: 4 }), 64, undefined)).toEqual({ patches: 2 });
    const impossible = choosePatches(deg({ pipefusion: 16, ulysses: 8 }), 64, undefined);
    expect('violation' in impossible && impossible.violation.reason).toContain(
      'no patch count ≥ pipefusion=16',
    );
  });

  it('no PipeFusion for few-step models', () => {
    const i = input('flux-schnell', { request: { steps: 4 } });
    const reason = only(i, deg({ pipefusion: 2 }), 'pipefusion-few-steps');
    expect(reason).toContain('in 4 steps');
  });

  it("no Ring inside PipeFusion stages (Tessera's runtime keeps K/V buffers per Ulysses head group)", () => {
    const reason = only(input('flux-dev'), deg({ pipefusion: 2, ring: 2 }), 'pipefusion-ring');
    expect(reason).toContain('ring=2 inside pipefusion=2');
    // Predicting xDiT's runs (the calibration), which rotate the buffers around the ring, allows it.
    const xdit = { ...input('flux-dev'), profile: { ...COMPILED_PROFILE, runtime: XDIT_RUNTIME } };
    expect(violationsOf(xdit, deg({ pipefusion: 2, ring: 2 }))).toEqual([]);
  });

  it('no PipeFusion when the policy forbids it', () => {
    const reason = 'pipefusion=2 but the policy forbids approximate methods (PipeFusion)';
    const i = input('flux-dev', { policy: { allowPipefusion: false } });
    expect(only(i, deg({ pipefusion: 2 }), 'pipefusion-policy')).toBe(reason);
    const forbid = input('flux-dev', { policy: { approximate: { rule: 'forbid', margin: 0.1 } } });
    expect(only(forbid, deg({ pipefusion: 2 }), 'pipefusion-policy')).toBe(reason);
  });

  it('data parallel cannot exceed the batch', () => {
    expect(only(input('flux-dev'), deg({ dataParallel: 2 }), 'data-parallel-batch')).toContain(
      'exceeds the batch of 1',
    );
    expect(violationsOf(input('flux-dev', { request: { maxBatch: 2 } }), deg({ dataParallel: 2 }))).toEqual(
      [],
    );
  });

  it('everything must fit in GPU memory, with the parts named', () => {
    const l4 = { ...h100Nodes(), gpu: gpuSpec('l4'), intraNode: 'pcie' as const };
    const reason = only(input('flux-dev', { hardware: l4 }), deg({}), 'memory');
    expect(reason).toMatch(
      /needs [\d.]+ GiB on rank 0 \(the leader\) \(weights [\d.]+ GiB, text encoders [\d.]+ GiB/,
    );
    expect(reason).toContain('NVIDIA-L4 offers');
    // Four PipeFusion stages hold a quarter of the weights each, which fits.
    expect(violationsOf(input('flux-dev', { hardware: l4 }), deg({ pipefusion: 4 }))).toEqual([]);
  });

  it('a group must split evenly into pods and fit the nodes', () => {
    const uneven = explore(input('flux-dev', { hardware: h100Nodes(2), policy: { gpusPerGroup: 9 } }));
    expect(uneven.candidates).toEqual([]);
    expect(uneven.rejected[0]?.violations[0]?.rule).toBe('pods-even');
    expect(uneven.rejected[0]?.violations[0]?.reason).toBe(
      '9 GPUs do not split evenly over 2 pods of at most 8 GPUs',
    );
    const tooMany = explore(input('flux-dev', { hardware: h100Nodes(1), policy: { gpusPerGroup: 16 } }));
    expect(tooMany.rejected[0]?.violations[0]?.reason).toBe(
      '16 GPUs need 2 nodes of 8 GPUs but 1 are available',
    );
  });

  it('degrees are positive integers whose product is the group size', async () => {
    const { checkShape } = await import('../../../src/shared/planner/rules.js');
    expect(checkShape(deg({ ulysses: 0 }), 1).map((v) => v.rule)).toEqual(['degree-value']);
    expect(checkShape(deg({ ulysses: 2 }), 4)[0]?.reason).toBe(
      'dataParallel×cfg×pipefusion×ring×ulysses = 2 (dp1·cfg1·pp1·r1·u2) but the group has 4 GPUs',
    );
  });
});

describe('manual mode and failures', () => {
  it('validates and predicts given degrees', () => {
    const r = planWithDegrees(input('flux-dev'), deg({ ulysses: 4 }));
    expect(r.chosen.degrees).toEqual(deg({ ulysses: 4 }));
    expect(r.candidates).toHaveLength(1);
    expect(r.chosen.predicted.totalSeconds).toBeGreaterThan(0);
  });

  it('names malformed manual degrees instead of checking pods for them', () => {
    expect(() => planWithDegrees(input('flux-dev'), deg({ ring: 0 }))).toThrow(
      /ring=0 must be a positive integer/,
    );
    expect(() => planWithDegrees(input('flux-dev'), deg({ ulysses: 1.5 }))).toThrow(
      /ulysses=1.5 must be a positive integer/,
    );
  });

  it('throws NoFeasiblePlanError listing every reason', () => {
    const attempt = () => planWithDegrees(input('flux-dev'), deg({ ulysses: 5 }));
    expect(attempt).toThrow(NoFeasiblePlanError);
    expect(attempt).toThrow(
      /dp1·cfg1·pp1·r1·u5 is rejected for flux-dev:\n.*ulysses=5 does not divide heads=24 of flux-dev/,
    );
    try {
      attempt();
    } catch (err) {
      expect((err as NoFeasiblePlanError).rejected[0]?.violations.map((v) => v.rule)).toContain(
        'ulysses-heads',
      );
    }
  });

  it('rejects malformed input naming the field', () => {
    expect(() => plan(input('flux-dev', { request: { height: 1000 } }))).toThrow(
      new PlannerInputError('request.height=1000 must be a multiple of 16 (VAE scale × patch size)'),
    );
    expect(() => plan(input('flux-dev', { policy: { gpusPerGroup: { min: 4, max: 2 } } }))).toThrow(
      /policy.gpusPerGroup.min \(4\) exceeds max \(2\)/,
    );
    expect(() => plan(input('flux-dev', { hardware: h100Nodes(1, { gpusPerNode: 0 }) }))).toThrow(
      /hardware: gpusPerNode must be a positive integer/,
    );
  });
});
