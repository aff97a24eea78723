/**
 * DPM-Solver++ against Diffusers' DPMSolverMultistepScheduler (tools/reference/scheduler_fixtures.py): the
 * released PixArt-Σ config and variants (order 1, Heun, v/sample prediction, leading/trailing spacing,
 * σ_min final, scaled-linear betas, 500 training steps) give the same timesteps exactly, the same float32
 * sigmas, and the same trajectories over seeded model outputs; unsupported options are refused by name.
 * The loops' tensor step (stepTensor: element-wise ops where the latents live, the history kept there)
 * gives the host step's bits on the CPU, whole or band by band.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../../src/runtime/native/index.js';
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

/** The float32 values' bit patterns (so -0 ≠ 0 and NaNs compare). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('DPM-Solver++ on tensors (stepTensor, what the loops run)', () => {
  const shapeOf = (c: DpmCase) => [1, 2, 2, c.sample.length / 4];

  for (const c of cases) {
    it(`${c.name}: the host step's bits on the CPU`, () => {
      const config = parseDpmSolverConfig(c.config, c.name);
      const host = new DpmSolverMultistep(config, c.steps);
      const onTensors = new DpmSolverMultistep(config, c.steps);
      const expected = Float32Array.from(c.sample);
      const latents = Tensor.of(c.sample, shapeOf(c));
      c.model_outputs.forEach((output, i) => {
        host.step(i, expected, Float32Array.from(output));
        onTensors.stepTensor(i, latents, Tensor.of(output, shapeOf(c)));
        expect(bits(latents.toFloat32Array()), `step ${i}`).toEqual(bits(expected));
      });
    });
  }

  it('bands (strided views of the latents) after whole-image steps continue the whole run bit for bit (splitIntoBands)', () => {
    const c = cases.find((x) => x.name === 'pixart-sigma-n7') as DpmCase;
    const config = parseDpmSolverConfig(c.config, c.name);
    const host = new DpmSolverMultistep(config, c.steps);
    const banded = new DpmSolverMultistep(config, c.steps);
    const shape = shapeOf(c);
    const expected = Float32Array.from(c.sample);
    const latents = Tensor.of(c.sample, shape);
    const rows = shape[2] as number;
    const wholeSteps = 2;
    c.model_outputs.forEach((values, i) => {
      host.step(i, expected, Float32Array.from(values));
      const output = Tensor.of(values, shape);
      if (i < wholeSteps) {
        banded.stepTensor(i, latents, output);
        return;
      }
      if (i === wholeSteps) {
        banded.splitIntoBands([0, 1], (whole, r) => whole.narrow(2, r, 1).contiguous());
      }
      for (let r = 0; r < rows; r++) {
        const band = latents.narrow(2, r, 1);
        expect(band.isContiguous).toBe(false);
        banded.stepTensor(i, band, output.narrow(2, r, 1).contiguous(), r);
      }
      expect(bits(latents.toFloat32Array()), `step ${i}`).toEqual(bits(expected));
    });
    expect(c.model_outputs.length).toBeGreaterThan(wholeSteps + 1);
  });
});
