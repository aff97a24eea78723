/**
 * A scheduler as the denoising loops see it, whatever its kind: the request's timesteps and sigmas, and
 * the update of the latents from the model's (guided) output at a step. The family picks how its
 * pipeline sets the schedule (families/); the loops call `step` — on the whole latents, or on one
 * PipeFusion band at a time, which `region` names so that a multistep solver can keep its history per
 * band.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDiffusersJson } from './diffusers-json.js';
import { type DpmSolverConfig, parseDpmSolverConfig } from './dpm-solver-config.js';
import { DpmSolverMultistep } from './dpm-solver-multistep.js';
import { type FlowMatchEulerConfig, parseFlowMatchEulerConfig } from './flow-match-config.js';
import { eulerStep, type Schedule } from './flow-match-euler.js';

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
   * PipeFusion leaves its whole-image warm-up steps for per-band steps: a multistep solver cuts the
   * history it kept for the whole latents into each band's share (`cut(whole, region)`), so the first
   * band step continues from it as the one-process run does. Stateless schedulers leave it out.
   */
  splitIntoBands?(
    regions: readonly number[],
    cut: (whole: Float32Array, region: number) => Float32Array,
  ): void;
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

/** The flow-match Euler update over a schedule (stateless: every band steps alike). */
export function flowMatchScheduler(schedule: Schedule): DenoiseScheduler {
  return {
    timesteps: schedule.timesteps,
    sigmas: schedule.sigmas,
    step: (index, sample, output) => {
      eulerStep(schedule, index, sample, output, sample);
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
