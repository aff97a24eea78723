import { describe, expect, it } from 'vitest';
import {
  FLOW_MATCH_EULER_DEFAULTS,
  parseFlowMatchEulerConfig,
} from '../../../src/runtime/scheduler/flow-match-config.js';
import {
  calculateShift,
  eulerStep,
  FlowMatchEulerScheduler,
  fluxPipelineSchedule,
  fluxPipelineSigmas,
  sd3PipelineSchedule,
} from '../../../src/runtime/scheduler/flow-match-euler.js';
import {
  diffusersDefaults,
  REFERENCE_DIR,
  referenceManifest,
  sigmaTables,
} from '../../support/reference-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
};

describe('FlowMatchEulerScheduler vs diffusers sigma tables', () => {
  const tables = sigmaTables();

  it('covers static, dynamic, linear, terminal and inverted settings', () => {
    expect(tables.length).toBeGreaterThanOrEqual(30);
    expect(tables.some((t) => t.config.use_dynamic_shifting === true)).toBe(true);
    expect(tables.some((t) => t.config.invert_sigmas === true)).toBe(true);
  });

  for (const table of tables) {
    it(`${table.name}: sigmas and timesteps within 1e-6`, () => {
      const config = parseFlowMatchEulerConfig(table.config, `sigmas.json#${table.name}`);
      const scheduler = new FlowMatchEulerScheduler(config);
      const mu =
        table.image_seq_len === null ? (table.mu ?? undefined) : calculateShift(table.image_seq_len, config);
      if (table.mu !== null) expect(mu).toBeCloseTo(table.mu, 12);
      const sigmasIn = table.sigmas_in === null ? undefined : fluxPipelineSigmas(table.num_inference_steps);
      if (table.sigmas_in !== null) expect(maxAbsDiff(sigmasIn ?? [], table.sigmas_in)).toBe(0);

      const schedule = scheduler.setTimesteps({
        steps: sigmasIn === undefined ? table.num_inference_steps : undefined,
        sigmas: sigmasIn,
        mu,
      });
      expect(maxAbsDiff(schedule.sigmas, table.sigmas)).toBeLessThanOrEqual(1e-6);
      // timesteps are sigma × 1000: 1e-6 relative.
      expect(maxAbsDiff(schedule.timesteps, table.timesteps)).toBeLessThanOrEqual(
        1e-6 * config.numTrainTimesteps,
      );
      expect(scheduler.sigmaMax).toBeCloseTo(table.sigma_max, 7);
      expect(scheduler.sigmaMin).toBeCloseTo(table.sigma_min, 7);
    });
  }
});

describe('flow-match config', () => {
  it('uses the same defaults as diffusers for every key', () => {
    const fromDiffusers = parseFlowMatchEulerConfig(
      diffusersDefaults().FlowMatchEulerDiscreteScheduler,
      'defaults.json',
    );
    expect(parseFlowMatchEulerConfig({}, 'empty')).toEqual(fromDiffusers);
    expect(FLOW_MATCH_EULER_DEFAULTS).toEqual(fromDiffusers);
  });

  it('rejects options it does not implement and names the field', () => {
    expect(() => parseFlowMatchEulerConfig({ use_karras_sigmas: true }, 'sched.json')).toThrow(
      /sched\.json: use_karras_sigmas = true is not supported/,
    );
    expect(() => parseFlowMatchEulerConfig({ shift: 'three' }, 'sched.json')).toThrow(
      /shift must be a number/,
    );
    expect(() => parseFlowMatchEulerConfig({ time_shift_type: 'cubic' }, 's.json')).toThrow(
      /time_shift_type/,
    );
  });

  it('requires mu for dynamic shifting and matching lengths', () => {
    const dynamic = new FlowMatchEulerScheduler(
      parseFlowMatchEulerConfig({ use_dynamic_shifting: true }, 'x'),
    );
    expect(() => dynamic.setTimesteps({ steps: 4 })).toThrow(/mu is required/);
    const plain = new FlowMatchEulerScheduler(FLOW_MATCH_EULER_DEFAULTS);
    expect(() => plain.setTimesteps({ steps: 3, sigmas: [1, 0.5] })).toThrow(/2 sigmas given for steps = 3/);
    expect(() => plain.setTimesteps({ steps: 0 })).toThrow(/steps must be a positive integer/);
  });
});

describe('eulerStep reproduces the diffusers denoise trajectories', () => {
  for (const ckpt of referenceManifest().checkpoints) {
    for (const c of ckpt.cases.filter((x) => x.kind === 'denoise')) {
      it(`${ckpt.name}/${c.case}: schedule and every step's latents`, () => {
        const file = new SafetensorsLite(`${REFERENCE_DIR}/${c.file}`);
        const config = parseFlowMatchEulerConfig(ckpt.scheduler, `${ckpt.name} scheduler`);
        const scheduler = new FlowMatchEulerScheduler(config);
        const latentsShape = file.shape('latents');
        // Flux latents are packed [B, tokens, C·4]; SD3 latents are [B, C, H, W] with 2×2 patches.
        const [, d1 = 0, d2 = 0, d3 = 0] = latentsShape;
        const schedule =
          ckpt.family === 'flux'
            ? fluxPipelineSchedule(scheduler, c.steps ?? 0, d1)
            : sd3PipelineSchedule(scheduler, c.steps ?? 0, (d2 / 2) * (d3 / 2));
        if (ckpt.family === 'flux') expect(calculateShift(d1, config)).toBeCloseTo(c.mu ?? Number.NaN, 12);
        expect(maxAbsDiff(schedule.sigmas, file.f32('sigmas'))).toBeLessThanOrEqual(1e-6);
        expect(maxAbsDiff(schedule.timesteps, file.f32('timesteps'))).toBeLessThanOrEqual(1e-3);

        // Feed diffusers' own velocities: the step alone must reproduce its latents exactly (both float32).
        let latents = file.f32('latents');
        for (let i = 0; i < (c.steps ?? 0); i++) {
          latents = eulerStep(schedule, i, latents, file.f32(`step${i}.noise_pred`));
          expect(maxAbsDiff(latents, file.f32(`step${i}.latents`))).toBe(0);
        }
        expect(maxAbsDiff(latents, file.f32('output_latents'))).toBe(0);
      });
    }
  }

  it('refuses a step past the end of the schedule', () => {
    const schedule = new FlowMatchEulerScheduler(FLOW_MATCH_EULER_DEFAULTS).setTimesteps({ steps: 2 });
    const x = new Float32Array(4);
    expect(() => eulerStep(schedule, 2, x, x)).toThrow(/index 2 is outside the 2-step schedule/);
  });
});
