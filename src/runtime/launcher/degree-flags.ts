/**
 * The parallel-degree flags of `tessera denoise`, under our names and xDiT's (xdit.md §1.1), so a
 * command line written for `xfuser` works here too. Both spellings of one degree may not disagree.
 */
import type { Degrees, PipelineSettings } from '../../shared/plan/index.js';

export const DEGREE_OPTIONS = {
  ulysses: { type: 'string' },
  ulysses_degree: { type: 'string' },
  ring: { type: 'string' },
  ring_degree: { type: 'string' },
  pipefusion: { type: 'string' },
  pipefusion_parallel_degree: { type: 'string' },
  'cfg-parallel': { type: 'boolean' },
  use_cfg_parallel: { type: 'boolean' },
  'data-parallel': { type: 'string' },
  data_parallel_degree: { type: 'string' },
  'warmup-steps': { type: 'string' },
  warmup_steps: { type: 'string' },
  'pipeline-patches': { type: 'string' },
  num_pipeline_patch: { type: 'string' },
} as const;

export const DEGREE_USAGE = `Parallel (runs that many local CPU ranks through the pod launcher, as in a cluster):
  --ulysses N (--ulysses_degree)            Ulysses sequence parallel
  --ring N (--ring_degree)                  Ring sequence parallel
  --pipefusion N (--pipefusion_parallel_degree)  PipeFusion stages
  --cfg-parallel (--use_cfg_parallel)       [uncond, cond] on two ranks (SD3 with guidance > 1)
  --data-parallel N (--data_parallel_degree)  prompts split across replicas
  --warmup-steps N (--warmup_steps)         synchronous PipeFusion steps (default 1)
  --pipeline-patches M (--num_pipeline_patch)  PipeFusion row-band patches (default: the PipeFusion degree)
`;

export class DegreeFlagError extends Error {
  override readonly name = 'DegreeFlagError';
}

type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

function integerFlag(values: FlagValues, ours: string, theirs: string, min: number): number | undefined {
  const a = values[ours];
  const b = values[theirs];
  const parse = (flag: string, v: string | boolean | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isInteger(n) || n < min) {
      throw new DegreeFlagError(`--${flag} must be an integer >= ${min}, got ${String(v)}`);
    }
    return n;
  };
  const x = parse(ours, a);
  const y = parse(theirs, b);
  if (x !== undefined && y !== undefined && x !== y) {
    throw new DegreeFlagError(`--${ours} ${x} and --${theirs} ${y} disagree`);
  }
  return x ?? y;
}

export interface ParallelFlags {
  degrees: Degrees;
  pipeline: PipelineSettings;
}

/** The degrees the flags ask for, or null when every degree is 1 (the one-process denoiser). */
export function parallelFromFlags(values: FlagValues): ParallelFlags | null {
  const degrees: Degrees = {
    ulysses: integerFlag(values, 'ulysses', 'ulysses_degree', 1) ?? 1,
    ring: integerFlag(values, 'ring', 'ring_degree', 1) ?? 1,
    pipefusion: integerFlag(values, 'pipefusion', 'pipefusion_parallel_degree', 1) ?? 1,
    cfg: values['cfg-parallel'] === true || values.use_cfg_parallel === true ? 2 : 1,
    dataParallel: integerFlag(values, 'data-parallel', 'data_parallel_degree', 1) ?? 1,
  };
  const warmup = integerFlag(values, 'warmup-steps', 'warmup_steps', 0);
  const patches = integerFlag(values, 'pipeline-patches', 'num_pipeline_patch', 1);
  if (degrees.pipefusion === 1 && (patches ?? 1) > 1) {
    throw new DegreeFlagError('--pipeline-patches needs --pipefusion > 1');
  }
  const pipeline: PipelineSettings = {
    // xDiT: patches default to the PipeFusion degree and are forced to 1 without PipeFusion.
    patches: degrees.pipefusion === 1 ? 1 : (patches ?? degrees.pipefusion),
    warmupSteps: warmup ?? 1,
  };
  const parallel = Object.values(degrees).some((d) => d > 1);
  return parallel ? { degrees, pipeline } : null;
}
