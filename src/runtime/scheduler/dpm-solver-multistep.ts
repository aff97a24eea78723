/**
 * DPMSolverMultistepScheduler as Diffusers runs it for PixArt-Σ: DPM-Solver++ (data prediction) of order
 * 1 or 2, midpoint or Heun, over integer DDPM timesteps.
 *
 * The schedule follows Diffusers' arithmetic: betas from torch.linspace in float32 (the first half from
 * the start, the second from the end), ᾱ = cumprod(1 − β) accumulated in double and stored in float32,
 * σ = √((1 − ᾱ)/ᾱ) in float32; timesteps from numpy's linspace/arange with round-half-even; the final
 * sigma 0 (or σ_min). A step converts the model output to x0 (epsilon: (x − σ_t·ε)/α_t with
 * α_t = 1/√(σ² + 1), σ_t = σ·α_t) and takes the first-order update on the first step (and the last, when
 * lower_order_final applies) and the second-order one otherwise, keeping the previous x0 per region so
 * that PipeFusion can step one band at a time. `step` on host arrays is the reference; `stepTensor`, which
 * the loops use, is the same arithmetic as element-wise ops where the latents live (a GPU keeps the
 * history in its memory).
 */
import { ops, Tensor } from '../native/index.js';
import type { DpmSolverConfig } from './dpm-solver-config.js';

const f = Math.fround;

/** numpy's round(): half to even. */
function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const d = v - floor;
  if (d !== 0.5) return Math.round(v);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** torch.linspace(start, end, n, dtype=float32): step in float32, each half computed from its end. */
function linspaceF32(start: number, end: number, n: number): Float32Array {
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  return Float32Array.from({ length: n }, (_, i) =>
    i < halfway ? f(s + f(step * i)) : f(e - f(step * (n - i - 1))),
  );
}

export interface DpmSchedule {
  /** Integer DDPM timesteps, one per step, descending. */
  timesteps: Int32Array;
  /** σ at each step and after the last (float32 values). */
  sigmas: Float32Array;
}

export function trainSigmas(config: DpmSolverConfig): Float32Array {
  const n = config.numTrainTimesteps;
  const betas =
    config.betaSchedule === 'linear'
      ? linspaceF32(config.betaStart, config.betaEnd, n)
      : linspaceF32(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), n).map((b) => f(b * b));
  const sigmas = new Float32Array(n);
  let product = 1;
  for (let i = 0; i < n; i++) {
    product *= f(1 - (betas[i] as number));
    const alphaBar = f(product);
    sigmas[i] = f(Math.sqrt(f(f(1 - alphaBar) / alphaBar)));
  }
  return sigmas;
}

function timestepsFor(config: DpmSolverConfig, steps: number): number[] {
  const last = config.numTrainTimesteps;
  if (config.timestepSpacing === 'linspace') {
    const stop = last - 1;
    const points = Array.from({ length: steps + 1 }, (_, i) => (i === steps ? stop : (i * stop) / steps));
    return points.map(roundHalfEven).reverse().slice(0, steps);
  }
  if (config.timestepSpacing === 'leading') {
    const ratio = Math.floor(last / (steps + 1));
    return Array.from({ length: steps + 1 }, (_, i) => i * ratio)
      .reverse()
      .slice(0, steps)
      .map((t) => t + config.stepsOffset);
  }
  const ratio = config.numTrainTimesteps / steps;
  const count = Math.ceil(last / ratio);
  return Array.from({ length: count }, (_, i) => roundHalfEven(last - i * ratio) - 1);
}

export function dpmSchedule(config: DpmSolverConfig, steps: number): DpmSchedule {
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const train = trainSigmas(config);
  const timesteps = timestepsFor(config, steps);
  const sigmas = new Float32Array(timesteps.length + 1);
  timesteps.forEach((t, i) => {
    const value = train[t];
    if (value === undefined)
      throw new RangeError(`timestep ${t} is outside the ${train.length} training timesteps`);
    sigmas[i] = value;
  });
  sigmas[timesteps.length] = config.finalSigmasType === 'zero' ? 0 : (train[0] as number);
  return { timesteps: Int32Array.from(timesteps), sigmas };
}

interface Coefficients {
  alpha: number;
  sigma: number;
  lambda: number;
}

function coefficients(sigma: number): Coefficients {
  const alpha = f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1))));
  const s = f(sigma * alpha);
  return { alpha, sigma: s, lambda: f(f(Math.log(alpha)) - f(Math.log(s))) };
}

/** The history key of whole-image steps (bands are keyed by their index, from 0). */
const WHOLE = -1;

/** A region's history: the previous step's x0 (host values or a tensor where the latents live). */
interface RegionState<T> {
  previous: T | null;
  lowerOrderSteps: number;
}

/** The float32 coefficients of one update; `second` when it is the second-order one. */
interface Update {
  /** x0 from the model output (epsilon, v): α_t and σ_t at the step. */
  alpha: number;
  sigma: number;
  ratio: number;
  c0: number;
  second: { invR0: number; c1: number } | null;
}

export class DpmSolverMultistep {
  readonly timesteps: Int32Array;
  readonly sigmas: Float32Array;
  private readonly regions = new Map<number, RegionState<Float32Array>>();
  /** The same histories for stepTensor, kept where the latents live (nothing goes to the host). */
  private readonly tensorRegions = new Map<number, RegionState<Tensor>>();

  constructor(
    private readonly config: DpmSolverConfig,
    steps: number,
  ) {
    const schedule = dpmSchedule(config, steps);
    this.timesteps = schedule.timesteps;
    this.sigmas = schedule.sigmas;
  }

  private x0(index: number, sample: Float32Array, output: Float32Array): Float32Array {
    const { alpha, sigma } = coefficients(this.sigmas[index] as number);
    const type = this.config.predictionType;
    if (type === 'sample') return Float32Array.from(output);
    if (type === 'v_prediction')
      return sample.map((x, i) => f(f(alpha * x) - f(sigma * (output[i] as number))));
    return sample.map((x, i) => f(f(x - f(sigma * (output[i] as number))) / alpha));
  }

  /** The update at step `index` for a region whose history is `state`. */
  private update(index: number, state: RegionState<unknown>): Update {
    const count = this.timesteps.length;
    const { lowerOrderFinal, eulerAtFinal, finalSigmasType, solverOrder } = this.config;
    const finalFirstOrder =
      index === count - 1 && (eulerAtFinal || (lowerOrderFinal && count < 15) || finalSigmasType === 'zero');
    const { alpha, sigma } = coefficients(this.sigmas[index] as number);
    const t = coefficients(this.sigmas[index + 1] as number);
    const s0 = coefficients(this.sigmas[index] as number);
    const h = f(t.lambda - s0.lambda);
    const expm = f(f(Math.exp(-h)) - 1);
    const ratio = f(t.sigma / s0.sigma);
    const c0 = f(t.alpha * expm);
    if (solverOrder === 1 || state.lowerOrderSteps < 1 || finalFirstOrder || state.previous === null) {
      return { alpha, sigma, ratio, c0, second: null };
    }
    const s1 = coefficients(this.sigmas[index - 1] as number);
    const r0 = f(f(s0.lambda - s1.lambda) / h);
    const invR0 = f(1 / r0);
    const c1 = this.config.solverType === 'midpoint' ? f(0.5 * c0) : f(t.alpha * f(f(expm / h) + 1));
    return { alpha, sigma, ratio, c0, second: { invR0, c1 } };
  }

  private advance<T>(state: RegionState<T>, m0: T): void {
    state.previous = m0;
    if (state.lowerOrderSteps < this.config.solverOrder) state.lowerOrderSteps++;
  }

  /** sample ← the update at step `index` from the model output (in place); `region` keys the history. */
  step(index: number, sample: Float32Array, output: Float32Array, region: number = WHOLE): void {
    const state = this.regions.get(region) ?? { previous: null, lowerOrderSteps: 0 };
    const { ratio, c0, second } = this.update(index, state);
    const m0 = this.x0(index, sample, output);
    if (!second || !state.previous) {
      for (let i = 0; i < sample.length; i++)
        sample[i] = f(f(ratio * (sample[i] as number)) - f(c0 * (m0[i] as number)));
    } else {
      const m1 = state.previous;
      const { invR0, c1 } = second;
      for (let i = 0; i < sample.length; i++) {
        const d1 = f(invR0 * f((m0[i] as number) - (m1[i] as number)));
        const base = f(f(ratio * (sample[i] as number)) - f(c0 * (m0[i] as number)));
        sample[i] = this.config.solverType === 'midpoint' ? f(base - f(c1 * d1)) : f(base + f(c1 * d1));
      }
    }
    this.advance(state, m0);
    this.regions.set(region, state);
  }

  /**
   * The same update on tensors where they live, in place: `sample` f32 (a view is fine), `output` of
   * the same size in the model's dtype. Each operation is one element-wise op rounded to float32 in the
   * host step's order, so on the CPU the result is the host step's bit for bit; on a GPU the history
   * stays there and a step copies nothing to or from the host.
   */
  stepTensor(index: number, sample: Tensor, output: Tensor, region: number = WHOLE): void {
    const state = this.tensorRegions.get(region) ?? { previous: null, lowerOrderSteps: 0 };
    const { alpha, sigma, ratio, c0, second } = this.update(index, state);
    const x = sample.contiguous();
    const m0 = this.x0Tensor(x, output, alpha, sigma);
    // ratio·x − c0·m0, rounded as the host step: the product, then the difference.
    const next = ops.affine(x, ratio, 0);
    ops.scaledAdd(next, m0, -c0, next);
    if (second && state.previous) {
      const d1 = ops.sub(m0, state.previous);
      ops.affine(d1, second.invR0, 0, d1);
      ops.scaledAdd(next, d1, this.config.solverType === 'midpoint' ? -second.c1 : second.c1, next);
      d1.release();
    }
    sample.copyFrom(next);
    next.release();
    if (x !== sample) x.release();
    state.previous?.release();
    if (index === this.timesteps.length - 1) {
      // The last step: no later step reads the history.
      m0.release();
      state.previous = null;
    } else {
      this.advance(state, m0);
    }
    this.tensorRegions.set(region, state);
  }

  /** x0 from the model output as a new f32 tensor beside `x` (the host x0's roundings). */
  private x0Tensor(x: Tensor, output: Tensor, alpha: number, sigma: number): Tensor {
    const type = this.config.predictionType;
    const e = output.shape.join(',') === x.shape.join(',') ? output : output.reshape(x.shape);
    try {
      if (type === 'sample') return e.dtype === 'f32' ? e.clone() : e.to('f32');
      if (type === 'v_prediction') {
        const scaled = ops.affine(x, alpha, 0);
        return ops.scaledAdd(scaled, e, -sigma, scaled);
      }
      // (x − σ·ε) / α: a division, as the host step divides (a product by 1/α rounds differently).
      const diff = ops.scaledAdd(x, e, -sigma);
      const last = x.shape[x.shape.length - 1] ?? 1;
      const divisor = Tensor.zeros([last], 'f32', x.device);
      ops.affine(divisor, 0, alpha, divisor);
      ops.div(diff, divisor, diff);
      divisor.release();
      return diff;
    } finally {
      if (e !== output) e.release();
    }
  }

  /** Cuts stepTensor's whole-image history into each band's (the loops step through stepTensor). */
  splitIntoBands(regions: readonly number[], cut: (whole: Tensor, region: number) => Tensor): void {
    const whole = this.tensorRegions.get(WHOLE);
    if (!whole) return;
    for (const region of regions) {
      this.tensorRegions.set(region, {
        previous: whole.previous ? cut(whole.previous, region) : null,
        lowerOrderSteps: whole.lowerOrderSteps,
      });
    }
  }
}
