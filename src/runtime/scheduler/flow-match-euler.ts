/**
 * FlowMatchEulerDiscreteScheduler as Diffusers computes it (runtime.md §4.1): the sigma/timestep tables for
 * static shift (SD3) and resolution-dependent dynamic shift (Flux), and the Euler step.
 *
 * Diffusers mixes precisions, and the tables follow it to stay within float32 rounding of its values:
 * the training grid is float32 torch; a schedule built from linspace is float64 numpy; sigmas passed in (the
 * Flux pipeline) are cast to float32 first and shifted in float32; the result is stored as float32.
 */
import type { FlowMatchEulerConfig } from './flow-match-config.js';

/** Rounds like the array dtype Diffusers computes in at that point. */
type Rounding = (x: number) => number;
const F32: Rounding = Math.fround;
const F64: Rounding = (x) => x;

export interface SetTimestepsOptions {
  /** Number of denoising steps; may be omitted when `sigmas` is given. */
  steps?: number;
  /** Custom sigmas (Flux passes linspace(1, 1/N, N)); length = steps. */
  sigmas?: readonly number[];
  /** Required with useDynamicShifting (Flux: from calculateShift). */
  mu?: number;
}

export interface Schedule {
  /** Model timesteps, one per step (sigma × num_train_timesteps), float32 values. */
  timesteps: Float32Array;
  /** steps + 1 values; the last is 0 (1 when inverted). */
  sigmas: Float32Array;
}

/** `calculate_shift` of the Flux pipeline: mu as a linear function of the image token count. */
export function calculateShift(imageSeqLen: number, config: FlowMatchEulerConfig): number {
  const m = (config.maxShift - config.baseShift) / (config.maxImageSeqLen - config.baseImageSeqLen);
  const b = config.baseShift - m * config.baseImageSeqLen;
  return imageSeqLen * m + b;
}

/** The sigmas FluxPipeline passes: np.linspace(1.0, 1/N, N) (float64). */
export function fluxPipelineSigmas(steps: number): number[] {
  requirePositiveInteger(steps, 'steps');
  return linspace(1.0, 1 / steps, steps);
}

/** numpy.linspace(start, stop, n) in float64, including numpy's exact endpoint. */
export function linspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  const out = Array.from({ length: n }, (_, i) => start + i * step);
  out[n - 1] = stop;
  return out;
}

export class FlowMatchEulerScheduler {
  readonly config: FlowMatchEulerConfig;
  /** sigma_min / sigma_max of the training grid (after the static shift), as Diffusers stores them. */
  readonly sigmaMin: number;
  readonly sigmaMax: number;

  constructor(config: FlowMatchEulerConfig) {
    this.config = config;
    const n = config.numTrainTimesteps;
    // __init__: float32 grid t = 1..N, sigma = t/N, static shift applied in float32.
    const first = this.trainingSigma(n, n);
    const last = this.trainingSigma(1, n);
    this.sigmaMax = first;
    this.sigmaMin = last;
  }

  private trainingSigma(t: number, n: number): number {
    const sigma = F32(t / n);
    return this.config.useDynamicShifting ? sigma : this.staticShift(sigma, F32);
  }

  private staticShift(sigma: number, r: Rounding): number {
    const s = this.config.shift;
    return r(r(s * sigma) / r(1 + r((s - 1) * sigma)));
  }

  private timeShift(mu: number, sigma: number, r: Rounding): number {
    const base = r(r(1 / sigma) - 1); // (1/t - 1) ** 1.0 is exact
    if (this.config.timeShiftType === 'linear') return r(r(mu) / r(r(mu) + base));
    const e = r(Math.exp(mu));
    return r(e / r(e + base));
  }

  private stretchToTerminal(sigmas: number[], terminal: number, r: Rounding): number[] {
    const oneMinus = sigmas.map((s) => r(1 - s));
    const lastOneMinus = oneMinus[oneMinus.length - 1] ?? 0;
    const scale = r(lastOneMinus / (1 - terminal));
    return oneMinus.map((z) => r(1 - r(z / scale)));
  }

  /** Diffusers' `set_timesteps`: the schedule for one request. */
  setTimesteps(options: SetTimestepsOptions): Schedule {
    const { config } = this;
    if (config.useDynamicShifting && options.mu === undefined) {
      throw new Error(
        'flow-match scheduler: mu is required when use_dynamic_shifting is true (see calculateShift)',
      );
    }
    if (
      options.sigmas !== undefined &&
      options.steps !== undefined &&
      options.sigmas.length !== options.steps
    ) {
      throw new Error(
        `flow-match scheduler: ${options.sigmas.length} sigmas given for steps = ${options.steps}; they must match`,
      );
    }
    let sigmas: number[];
    let r: Rounding;
    if (options.sigmas === undefined) {
      const steps = options.steps ?? 0;
      requirePositiveInteger(steps, 'steps');
      const n = config.numTrainTimesteps;
      sigmas = linspace(this.sigmaMax * n, this.sigmaMin * n, steps).map((t) => t / n);
      r = F64;
    } else {
      if (options.sigmas.length === 0) throw new Error('flow-match scheduler: sigmas must not be empty');
      sigmas = options.sigmas.map((s) => F32(s));
      r = F32;
    }
    const mu = options.mu ?? 0;
    sigmas = config.useDynamicShifting
      ? sigmas.map((s) => this.timeShift(mu, s, r))
      : sigmas.map((s) => this.staticShift(s, r));
    if (config.shiftTerminal) sigmas = this.stretchToTerminal(sigmas, config.shiftTerminal, r);

    let shifted = sigmas.map((s) => F32(s));
    if (config.invertSigmas) shifted = shifted.map((s) => F32(1 - s));
    const timesteps = Float32Array.from(shifted, (s) => s * config.numTrainTimesteps);
    const table = new Float32Array(shifted.length + 1);
    table.set(shifted);
    table[shifted.length] = config.invertSigmas ? 1 : 0;
    return { timesteps, sigmas: table };
  }
}

/**
 * dt of the Euler step at `index`: sigmas[i+1] − sigmas[i], rounded to float32 (what Diffusers' `step`
 * multiplies the velocity by).
 */
export function eulerDelta(schedule: Schedule, index: number): number {
  const sigma = schedule.sigmas[index];
  const next = schedule.sigmas[index + 1];
  if (sigma === undefined || next === undefined) {
    throw new Error(
      `flow-match step: index ${index} is outside the ${schedule.timesteps.length}-step schedule`,
    );
  }
  return Math.fround(next - sigma);
}

/**
 * One Euler step: out = sample + (sigmas[i+1] − sigmas[i]) · velocity, in float32 (Diffusers' `step`).
 * `out` may alias `sample` (in-place update of the latents). The loops step tensors where they live with
 * ops.scaledAdd, which gives these bits on the CPU (step-kernels test); this is the host reference.
 */
export function eulerStep(
  schedule: Schedule,
  index: number,
  sample: Float32Array,
  velocity: Float32Array,
  out: Float32Array = new Float32Array(sample.length),
): Float32Array {
  const dt = eulerDelta(schedule, index);
  if (velocity.length !== sample.length || out.length !== sample.length) {
    throw new Error(
      `flow-match step: sample has ${sample.length} values but velocity ${velocity.length} and out ${out.length}`,
    );
  }
  for (let i = 0; i < sample.length; i++) {
    // Both roundings of torch's float32 `sample + dt * v`: the product, then the sum (on store).
    out[i] = (sample[i] as number) + Math.fround(dt * (velocity[i] as number));
  }
  return out;
}

function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`flow-match scheduler: ${name} must be a positive integer, got ${value}`);
  }
}

/**
 * The schedule FluxPipeline builds: sigmas linspace(1, 1/N, N) and mu from the packed image token count
 * (mu is ignored by static-shift configs such as schnell's).
 */
export function fluxPipelineSchedule(
  scheduler: FlowMatchEulerScheduler,
  steps: number,
  imageSeqLen: number,
): Schedule {
  return scheduler.setTimesteps({
    sigmas: fluxPipelineSigmas(steps),
    mu: calculateShift(imageSeqLen, scheduler.config),
  });
}

/**
 * The schedule StableDiffusion3Pipeline builds: the scheduler's own linspace; mu (from the patch token count)
 * only when the config asks for dynamic shifting.
 */
export function sd3PipelineSchedule(
  scheduler: FlowMatchEulerScheduler,
  steps: number,
  imageSeqLen: number,
): Schedule {
  const mu = scheduler.config.useDynamicShifting ? calculateShift(imageSeqLen, scheduler.config) : undefined;
  return scheduler.setTimesteps({ steps, mu });
}
