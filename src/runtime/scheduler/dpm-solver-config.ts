/**
 * `scheduler/scheduler_config.json` of a DPMSolverMultistepScheduler (PixArt-Σ's), with Diffusers'
 * constructor defaults for missing keys. Only the deterministic DPM-Solver++ (orders 1 and 2) over the
 * model's own timesteps is supported; the options no PixArt release uses are refused naming the field,
 * rather than silently ignored.
 */
import { ConfigFields } from '../checkpoint/config-fields.js';

export interface DpmSolverConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'linear' | 'scaled_linear';
  solverOrder: 1 | 2;
  predictionType: 'epsilon' | 'v_prediction' | 'sample';
  solverType: 'midpoint' | 'heun';
  lowerOrderFinal: boolean;
  eulerAtFinal: boolean;
  finalSigmasType: 'zero' | 'sigma_min';
  timestepSpacing: 'linspace' | 'leading' | 'trailing';
  stepsOffset: number;
}

export class DpmSolverConfigError extends Error {
  override readonly name = 'DpmSolverConfigError';
}

const REFUSED_TRUE = [
  'thresholding',
  'use_karras_sigmas',
  'use_exponential_sigmas',
  'use_beta_sigmas',
  'use_lu_lambdas',
  'use_flow_sigmas',
  'rescale_betas_zero_snr',
  'use_dynamic_shifting',
];

function oneOf<T extends string>(fields: ConfigFields, key: string, fallback: T, allowed: readonly T[]): T {
  const value = fields.optionalString(key, fallback);
  if (value === null || !allowed.includes(value as T)) {
    throw new DpmSolverConfigError(
      `${fields.source}: field "${key}" is ${JSON.stringify(value)}; supported: ${allowed.join(', ')}`,
    );
  }
  return value as T;
}

function nonNegative(value: unknown, key: string, source: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new DpmSolverConfigError(`${source}: field "${key}" must be a non-negative integer`);
  }
  return value;
}

export function parseDpmSolverConfig(raw: unknown, source: string): DpmSolverConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DpmSolverConfigError(`${source}: expected a JSON object for the scheduler config`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of REFUSED_TRUE) {
    if (obj[key] === true)
      throw new DpmSolverConfigError(`${source}: field "${key}" = true is not supported; set it to false`);
  }
  if (obj.trained_betas !== undefined && obj.trained_betas !== null) {
    throw new DpmSolverConfigError(
      `${source}: field "trained_betas" is not supported; use beta_start/beta_end/beta_schedule`,
    );
  }
  if (obj.variance_type !== undefined && obj.variance_type !== null) {
    throw new DpmSolverConfigError(
      `${source}: field "variance_type" must be null (the pipeline drops learned variance itself)`,
    );
  }
  const clipped = obj.lambda_min_clipped;
  if (
    clipped !== undefined &&
    clipped !== null &&
    clipped !== Number.NEGATIVE_INFINITY &&
    clipped !== '-inf' &&
    clipped !== '-Infinity'
  ) {
    throw new DpmSolverConfigError(`${source}: field "lambda_min_clipped" must be -inf`);
  }
  const fields = new ConfigFields(obj, source);
  oneOf(fields, 'algorithm_type', 'dpmsolver++', ['dpmsolver++'] as const);
  const order = fields.count('solver_order', 2);
  if (order !== 1 && order !== 2)
    throw new DpmSolverConfigError(`${source}: field "solver_order" is ${order}; supported: 1, 2`);
  return {
    numTrainTimesteps: fields.count('num_train_timesteps', 1000),
    betaStart: fields.number('beta_start', 0.0001),
    betaEnd: fields.number('beta_end', 0.02),
    betaSchedule: oneOf(fields, 'beta_schedule', 'linear', ['linear', 'scaled_linear'] as const),
    solverOrder: order,
    predictionType: oneOf(fields, 'prediction_type', 'epsilon', [
      'epsilon',
      'v_prediction',
      'sample',
    ] as const),
    solverType: oneOf(fields, 'solver_type', 'midpoint', ['midpoint', 'heun'] as const),
    lowerOrderFinal: fields.bool('lower_order_final', true),
    eulerAtFinal: fields.bool('euler_at_final', false),
    finalSigmasType: oneOf(fields, 'final_sigmas_type', 'zero', ['zero', 'sigma_min'] as const),
    timestepSpacing: oneOf(fields, 'timestep_spacing', 'linspace', [
      'linspace',
      'leading',
      'trailing',
    ] as const),
    stepsOffset: nonNegative(obj.steps_offset ?? 0, 'steps_offset', source),
  };
}
