/**
 * DPM-Solver++ against Diffusers' DPMSolverMultistepScheduler (tools/reference/scheduler_fixtures.py): the
 * released PixArt-Σ config and variants (order 1, Heun, v/sample prediction, leading/trailing spacing,
 * σ_min final, scaled-linear betas, 500 training steps) give the same timesteps exactly, the same float32
 * sigmas, and the same trajectories over seeded model outputs; unsupported options are refused by name.
 */
import { describe, expect, it } from 'vitest';
import {
  DpmSolverConfigError,
  parseDpmSolverConfig,
} from '../../../src/runtime/scheduler/dpm-solver-config.js';
import { DpmSolverMultistep } from '../../../src/runtime/scheduler/dpm-solver-multistep.js';
import { readPipelineJson } from '../../support/pipeline-fixtures.js';

interface DpmCase {
  name: string;
  config: Record<string, unknown>;
  steps: number;
  timesteps: number[];
  sigmas: number[];
  sample: number[];
  model_outputs: number[][];
  trajectory: number[][];
}
const { cases } = readPipelineJson<{ cases: DpmCase[] }>('dpm-solver.json');

function relError(actual: ArrayLike<number>, expected: readonly number[]): number {
  let diff = 0;
  let scale = 0;
  expected.forEach((e, i) => {
    diff = Math.max(diff, Math.abs((actual[i] as number) - e));
    scale = Math.max(scale, Math.abs(e));
  });
  return diff / (scale || 1);
}

describe('DPM-Solver++ matches Diffusers', () => {
  for (const c of cases) {
    it(c.name, () => {
      const scheduler = new DpmSolverMultistep(parseDpmSolverConfig(c.config, c.name), c.steps);
      expect(Array.from(scheduler.timesteps)).toEqual(c.timesteps);
      expect(relError(scheduler.sigmas, c.sigmas)).toBeLessThanOrEqual(1e-6);
      const sample = Float32Array.from(c.sample);
      c.model_outputs.forEach((output, i) => {
        scheduler.step(i, sample, Float32Array.from(output));
        expect(relError(sample, c.trajectory[i] as number[]), `step ${i}`).toBeLessThanOrEqual(1e-5);
      });
    });
  }

  it('keeps a separate history per region (PipeFusion bands step one at a time)', () => {
    const c = cases.find((x) => x.name === 'pixart-sigma-n7') as DpmCase;
    const config = parseDpmSolverConfig(c.config, c.name);
    const whole = new DpmSolverMultistep(config, c.steps);
    const banded = new DpmSolverMultistep(config, c.steps);
    const full = Float32Array.from(c.sample);
    const halves = [full.slice(0, 4), full.slice(4)];
    c.model_outputs.forEach((output, i) => {
      whole.step(i, full, Float32Array.from(output));
      halves.forEach((half, r) => {
        banded.step(i, half, Float32Array.from(output.slice(4 * r, 4 * r + 4)), r);
      });
    });
    expect([...(halves[0] as Float32Array), ...(halves[1] as Float32Array)]).toEqual(Array.from(full));
  });

  it('refuses options it does not implement, naming the field', () => {
    const base = (cases[0] as DpmCase).config;
    expect(() => parseDpmSolverConfig({ ...base, use_karras_sigmas: true }, 'cfg')).toThrow(
      /"use_karras_sigmas"/,
    );
    expect(() => parseDpmSolverConfig({ ...base, algorithm_type: 'sde-dpmsolver++' }, 'cfg')).toThrow(
      DpmSolverConfigError,
    );
    expect(() => parseDpmSolverConfig({ ...base, solver_order: 3 }, 'cfg')).toThrow(/"solver_order"/);
  });
});
