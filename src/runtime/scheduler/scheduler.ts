/**
 * A scheduler as the denoising loops see it, whatever its kind: the request's timesteps and sigmas, and
 * the update of the latents from the model's (guided) output at a step. The family picks how its
 * pipeline sets the schedule (families/); the loops call `step` — on the whole latents, or on one
 * PipeFusion band at a time, which `region` names so that a multistep solver can keep its history per
 * band. The loops step through stepLatents: a scheduler's `stepTensor` updates the latents where they
 * live (on a GPU nothing leaves it); one without it is read back, stepped and written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ops, Tensor } from '../native/index.js';
import { parseDiffusersJson } from './diffusers-json.js';
import { type DpmSolverConfig, parseDpmSolverConfig } from './dpm-solver-config.js';
import { DpmSolverMultistep } from './dpm-solver-multistep.js';
import { type FlowMatchEulerConfig, parseFlowMatchEulerConfig } from './flow-match-config.js';
import { eulerDelta, eulerStep, type Schedule } from './flow-match-euler.js';

export interface DenoiseScheduler {
  /** Schedule timesteps, one per step (the family turns them into model timesteps). */
  readonly timesteps: ArrayLike<number>;
  /** The noise level at each step, and after the last. */
  readonly sigmas: ArrayLike<number>;
  /**
   * sample ← the scheduler's update at step `index` for the model output `output` (float32, in place).
   * `region` keys per-band state; stateless schedulers ignore it.
   */
  step(index: number, sample: Float32Array, output: Float32Array, region?: number): void;
  /**
   * The same update on tensors where they live, in place: `sample` float32 (a view is fine: a
   * PipeFusion band), `output` with the same elements in the model's dtype; a multistep solver keeps
   * its history (per `region`) where the latents are. Without it the loops step on the host.
   */
  stepTensor?(index: number, sample: Tensor, output: Tensor, region?: number): void;
  /**
   * PipeFusion leaves its whole-image warm-up steps for per-band steps: a multistep solver cuts the
   * history stepTensor kept for the whole latents into each band's share (`cut(whole, region)`: an
   * owned tensor of the band), so the first band step continues from it as the one-process run does.
   * Stateless schedulers leave it out.
   */
  splitIntoBands?(regions: readonly number[], cut: (whole: Tensor, region: number) => Tensor): void;
}

/** A parsed `scheduler/scheduler_config.json`, by the scheduler class it names. */
export type SchedulerConfig =
  | { kind: 'flow-match-euler'; config: FlowMatchEulerConfig }
  | { kind: 'dpm-solver'; config: DpmSolverConfig };

/** Parsers by Diffusers scheduler class (`_class_name`); a config without one is flow-match Euler. */
const PARSERS: Record<string, (raw: unknown, source: string) => SchedulerConfig> = {
  FlowMatchEulerDiscreteScheduler: (raw, source) => ({
    kind: 'flow-match-euler',
    config: parseFlowMatchEulerConfig(raw, source),
  }),
  DPMSolverMultistepScheduler: (raw, source) => ({
    kind: 'dpm-solver',
    config: parseDpmSolverConfig(raw, source),
  }),
};
const DEFAULT_CLASS = 'FlowMatchEulerDiscreteScheduler';

export function parseSchedulerConfig(raw: unknown, source: string): SchedulerConfig {
  const className = (raw as { _class_name?: unknown } | null)?._class_name ?? DEFAULT_CLASS;
  const parse = typeof className === 'string' ? PARSERS[className] : undefined;
  if (!parse) {
    throw new Error(
      `${source}: _class_name is ${JSON.stringify(className)}; supported schedulers: ${Object.keys(PARSERS).join(', ')}`,
    );
  }
  return parse(raw, source);
}

/** The scheduler config next to a checkpoint's transformer. */
export function readSchedulerConfig(folder: string): SchedulerConfig {
  const path = join(folder, 'scheduler', 'scheduler_config.json');
  let raw: unknown;
  try {
    raw = parseDiffusersJson(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read the scheduler config ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseSchedulerConfig(raw, path);
}

/**
 * sample ← the scheduler's update at step `index` (in place) for the loops: where the latents live
 * through `stepTensor` when the scheduler has one, else on the host (one copy each way on a GPU).
 */
export function stepLatents(
  scheduler: DenoiseScheduler,
  index: number,
  sample: Tensor,
  output: Tensor,
  region?: number,
): void {
  if (output.numel !== sample.numel) {
    throw new Error(
      `scheduler step: the latents [${sample.shape.join(', ')}] and the model output [${output.shape.join(', ')}] differ in size`,
    );
  }
  if (scheduler.stepTensor) {
    const velocity =
      output.shape.join(',') === sample.shape.join(',') ? output : output.reshape(sample.shape);
    try {
      scheduler.stepTensor(index, sample, velocity, region);
    } finally {
      if (velocity !== output) velocity.release();
    }
    return;
  }
  const values = sample.toFloat32Array();
  scheduler.step(index, values, output.toFloat32Array(), region);
  const updated = Tensor.fromArray(values, sample.shape);
  sample.copyFrom(updated);
  updated.release();
}

/**
 * The flow-match Euler update over a schedule (stateless: every band steps alike). On tensors it is
 * ops.scaledAdd on the latents' device — on the CPU the bits of eulerStep, torch's two roundings.
 */
export function flowMatchScheduler(schedule: Schedule): DenoiseScheduler {
  return {
    timesteps: schedule.timesteps,
    sigmas: schedule.sigmas,
    step: (index, sample, output) => {
      eulerStep(schedule, index, sample, output, sample);
    },
    stepTensor: (index, sample, output) => {
      const dt = eulerDelta(schedule, index);
      if (sample.isContiguous) {
        ops.scaledAdd(sample, output, dt, sample);
        return;
      }
      // A band of the latents that is not one run of memory (SD3's rows across channels).
      const next = ops.scaledAdd(sample, output, dt);
      sample.copyFrom(next);
      next.release();
    },
  };
}

/** DPM-Solver++ over `steps` (PixArt-Σ's pipeline: the scheduler's own timesteps). */
export function dpmScheduler(config: DpmSolverConfig, steps: number): DenoiseScheduler {
  return new DpmSolverMultistep(config, steps);
}

/** The DPM-Solver config of `scheduler`, or an error naming what `who` needs. */
export function dpmSolverConfig(scheduler: SchedulerConfig, who: string): DpmSolverConfig {
  if (scheduler.kind !== 'dpm-solver') {
    throw new Error(
      `${who} runs DPMSolverMultistepScheduler, but the checkpoint's scheduler is ${scheduler.kind}`,
    );
  }
  return scheduler.config;
}

/** The flow-match config of `scheduler`, or an error naming what `who` needs. */
export function flowMatchConfig(scheduler: SchedulerConfig, who: string): FlowMatchEulerConfig {
  if (scheduler.kind !== 'flow-match-euler') {
    throw new Error(
      `${who} runs FlowMatchEulerDiscreteScheduler, but the checkpoint's scheduler is ${scheduler.kind}`,
    );
  }
  return scheduler.config;
}
