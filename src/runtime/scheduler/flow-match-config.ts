/**
 * `scheduler/scheduler_config.json` of a FlowMatchEulerDiscreteScheduler, with Diffusers' constructor
 * defaults for missing keys (the defaults are checked against diffusers in test/fixtures/reference/defaults.json).
 */

export type TimeShiftType = 'exponential' | 'linear';

export interface FlowMatchEulerConfig {
  numTrainTimesteps: number;
  /** Static shift (SD3: 3.0); ignored when useDynamicShifting. */
  shift: number;
  /** Resolution-dependent shift from `mu` (Flux-dev). */
  useDynamicShifting: boolean;
  baseShift: number;
  maxShift: number;
  baseImageSeqLen: number;
  maxImageSeqLen: number;
  invertSigmas: boolean;
  /** Stretches the schedule so it ends at this sigma (LTX-style); null = off. */
  shiftTerminal: number | null;
  timeShiftType: TimeShiftType;
}

export const FLOW_MATCH_EULER_DEFAULTS: FlowMatchEulerConfig = {
  numTrainTimesteps: 1000,
  shift: 1.0,
  useDynamicShifting: false,
  baseShift: 0.5,
  maxShift: 1.15,
  baseImageSeqLen: 256,
  maxImageSeqLen: 4096,
  invertSigmas: false,
  shiftTerminal: null,
  timeShiftType: 'exponential',
};

/** Options Diffusers has that no Flux/SD3 release uses; refusing them beats silently ignoring them. */
const UNSUPPORTED_FLAGS = [
  'use_karras_sigmas',
  'use_exponential_sigmas',
  'use_beta_sigmas',
  'stochastic_sampling',
];

/** Parses the JSON object of a scheduler config; `source` names the file in errors. */
export function parseFlowMatchEulerConfig(raw: unknown, source: string): FlowMatchEulerConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${source}: expected a JSON object for the scheduler config`);
  }
  const obj = raw as Record<string, unknown>;
  const className = obj._class_name;
  if (className !== undefined && className !== 'FlowMatchEulerDiscreteScheduler') {
    throw new Error(
      `${source}: _class_name is ${JSON.stringify(className)}; only FlowMatchEulerDiscreteScheduler is supported here`,
    );
  }
  for (const flag of UNSUPPORTED_FLAGS) {
    if (obj[flag] === true) {
      throw new Error(
        `${source}: ${flag} = true is not supported by Tessera's flow-match scheduler; set it to false`,
      );
    }
  }
  const d = FLOW_MATCH_EULER_DEFAULTS;
  const num = (key: string, fallback: number): number => {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${source}: ${key} must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean')
      throw new Error(`${source}: ${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const shiftTypeRaw = obj.time_shift_type ?? d.timeShiftType;
  if (shiftTypeRaw !== 'exponential' && shiftTypeRaw !== 'linear') {
    throw new Error(
      `${source}: time_shift_type must be "exponential" or "linear", got ${JSON.stringify(shiftTypeRaw)}`,
    );
  }
  const terminal = obj.shift_terminal;
  const config: FlowMatchEulerConfig = {
    numTrainTimesteps: num('num_train_timesteps', d.numTrainTimesteps),
    shift: num('shift', d.shift),
    useDynamicShifting: bool('use_dynamic_shifting', d.useDynamicShifting),
    baseShift: num('base_shift', d.baseShift),
    maxShift: num('max_shift', d.maxShift),
    baseImageSeqLen: num('base_image_seq_len', d.baseImageSeqLen),
    maxImageSeqLen: num('max_image_seq_len', d.maxImageSeqLen),
    invertSigmas: bool('invert_sigmas', d.invertSigmas),
    shiftTerminal: terminal === null || terminal === undefined ? null : num('shift_terminal', 0),
    timeShiftType: shiftTypeRaw,
  };
  if (!Number.isInteger(config.numTrainTimesteps) || config.numTrainTimesteps < 2) {
    throw new Error(
      `${source}: num_train_timesteps must be an integer >= 2, got ${config.numTrainTimesteps}`,
    );
  }
  if (config.shift <= 0) throw new Error(`${source}: shift must be > 0, got ${config.shift}`);
  if (config.shiftTerminal !== null && config.shiftTerminal >= 1) {
    throw new Error(`${source}: shift_terminal must be < 1, got ${config.shiftTerminal}`);
  }
  return config;
}
