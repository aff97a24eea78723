import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findGpu, GPU_TABLE, type IntraNodeLink } from '../shared/hardware/index.js';
import {
  type FactOverrides,
  familyBase,
  isArchitectureName,
  KNOWN_ARCHITECTURES,
  type ModelSpec,
  modelPreset,
  specFromDiffusersFolder,
  withFacts,
} from '../shared/models/index.js';
import type { Degrees, ModelFacts } from '../shared/plan/index.js';
import {
  type ApproximatePolicy,
  DEFAULT_APPROXIMATE_POLICY,
  type GroupSize,
  type Objective,
  type PlannerInput,
  PROFILES,
} from '../shared/planner/index.js';
import { UsageError } from './command.js';

export const OUTPUT_FORMATS = ['table', 'json', 'svg'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface PlanCommandOptions {
  input: PlannerInput;
  output: OutputFormat;
  /** Candidates and rejections the table shows. */
  top: number;
}

export const PLAN_USAGE = `usage: tessera plan [MODEL] [options]

MODEL is a preset (${KNOWN_ARCHITECTURES.join(', ')}) or a Diffusers model folder
(its transformer/config.json is read); --model MODEL says the same.

model facts (override the model's, or describe one without MODEL):
  --family flux|sd3|pixart   architecture family when no MODEL is given (default sd3)
  --layers N --heads N --head-dim N --text-tokens N --params N
  --image-tokens N           override the image tokens computed from height and width
  --cfg | --no-cfg           true classifier-free guidance (two branches) or not
hardware:
  --gpus N | --gpus MIN-MAX  GPUs of one group (default 1-GPUS_PER_NODE)
  --gpus-per-node N          (default 8)
  --nodes N                  nodes available to a group (default: as many as the group needs)
  --gpu PRODUCT              GPU product or alias (default NVIDIA-H100-80GB-HBM3)
  --intra-node nvlink|pcie   (default nvlink when the GPU has it)
  --inter-node-gbps N        network bandwidth per node (default 400)
request:
  --height N --width N       (default 1024)
  --steps N                  (default: the model's usual steps)
  --batch N                  prompts one group serves at once (default 1)
policy:
  --objective latency|throughput   (default latency)
  --approximate exact-first|prefer|forbid   how PipeFusion (approximate: stale activations)
                             competes with exact plans (default exact-first)
  --approximate-margin PCT   the predicted saving that overrides that preference (default 10)
  --no-pipefusion            forbid PipeFusion (same as --approximate forbid)
  --degrees dp=1,cfg=1,pp=1,ring=1,ulysses=4   validate and predict these degrees only
  --patches N --warmup-steps N     PipeFusion settings
  --profile compiled|eager   efficiency constants (default compiled)
output:
  -o, --output table|json|svg  (default table)
  --top N                    candidates and rejections the table lists (default 10)
`;

const OPTIONS = {
  model: { type: 'string' },
  family: { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  'head-dim': { type: 'string' },
  'text-tokens': { type: 'string' },
  'image-tokens': { type: 'string' },
  params: { type: 'string' },
  cfg: { type: 'boolean' },
  gpus: { type: 'string' },
  'gpus-per-node': { type: 'string' },
  nodes: { type: 'string' },
  gpu: { type: 'string' },
  'intra-node': { type: 'string' },
  'inter-node-gbps': { type: 'string' },
  height: { type: 'string' },
  width: { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  guidance: { type: 'string' },
  objective: { type: 'string' },
  pipefusion: { type: 'boolean' },
  approximate: { type: 'string' },
  'approximate-margin': { type: 'string' },
  degrees: { type: 'string' },
  patches: { type: 'string' },
  'warmup-steps': { type: 'string' },
  profile: { type: 'string' },
  output: { type: 'string', short: 'o' },
  top: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(flag: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${flag} must be an integer ≥ ${min}, got '${value}'`);
  }
  return n;
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${flag} must be a positive number, got '${value}'`);
  return n;
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

function groupSize(value: string | undefined, gpusPerNode: number): GroupSize {
  if (value === undefined) return { min: 1, max: gpusPerNode };
  const range = /^(\d+)-(\d+)$/.exec(value);
  if (range) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    if (min < 1 || min > max)
      throw new UsageError(`--gpus range '${value}' must be MIN-MAX with 1 ≤ MIN ≤ MAX`);
    return { min, max };
  }
  const n = integer('gpus', value);
  if (n === undefined) throw new UsageError('--gpus needs a value');
  return n;
}

const DEGREE_KEYS: Record<string, keyof Degrees> = {
  dp: 'dataParallel',
  dataparallel: 'dataParallel',
  cfg: 'cfg',
  pp: 'pipefusion',
  pipefusion: 'pipefusion',
  r: 'ring',
  ring: 'ring',
  u: 'ulysses',
  ulysses: 'ulysses',
};

/** Parses `dp=1,cfg=2,pp=1,ring=1,ulysses=4` or the short form `dp1·cfg2·pp1·r1·u4`; missing axes are 1. */
export function parseDegrees(text: string): Degrees {
  const degrees: Degrees = { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 1 };
  const parts = text.split(/[,·.\s]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new UsageError('--degrees is empty');
  for (const part of parts) {
    const m = /^([a-zA-Z]+)=?(\d+)$/.exec(part);
    const key = m ? DEGREE_KEYS[(m[1] ?? '').toLowerCase()] : undefined;
    if (!m || !key) {
      throw new UsageError(
        `--degrees: cannot read '${part}'; write e.g. dp=1,cfg=2,pp=1,ring=1,ulysses=4 (or dp1·cfg2·pp1·r1·u4)`,
      );
    }
    degrees[key] = Number(m[2]);
  }
  return degrees;
}

const FAMILIES: readonly ModelFacts['family'][] = ['flux', 'sd3', 'pixart'];

function modelFrom(name: string | undefined, family: ModelFacts['family'] | undefined): ModelSpec {
  if (name === undefined) return familyBase(family ?? 'sd3');
  if (family !== undefined)
    throw new UsageError('--family describes a model given by facts only; drop it or MODEL');
  if (isArchitectureName(name)) return modelPreset(name);
  if (existsSync(name)) {
    try {
      return specFromDiffusersFolder(name);
    } catch (err) {
      throw new UsageError((err as Error).message, { cause: err });
    }
  }
  throw new UsageError(
    `model '${name}' is neither a preset (${KNOWN_ARCHITECTURES.join(', ')}) nor an existing Diffusers folder`,
  );
}

/** Reads `tessera plan`'s command line; throws UsageError naming the flag that is wrong. */
export function parsePlanArgs(argv: readonly string[]): PlanCommandOptions | 'help' {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; allowNegative: true }>
  >;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${PLAN_USAGE}`, { cause: err });
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 1) {
    throw new UsageError(`expected at most one MODEL, got ${parsed.positionals.join(' ')}`);
  }
  const positional = parsed.positionals[0];
  if (positional !== undefined && v.model !== undefined) {
    throw new UsageError('give the model once: as MODEL or as --model');
  }
  const family = oneOf('family', v.family, FAMILIES);
  const overrides: FactOverrides = {
    layers: integer('layers', v.layers),
    heads: integer('heads', v.heads),
    headDim: integer('head-dim', v['head-dim']),
    textTokens: integer('text-tokens', v['text-tokens'], 0),
    parameters: integer('params', v.params),
    usesCfg: v.cfg,
  };
  const name = positional ?? v.model;
  if (
    name === undefined &&
    (overrides.layers === undefined || overrides.heads === undefined || overrides.headDim === undefined)
  ) {
    throw new UsageError(
      'give a MODEL (preset or Diffusers folder), or at least --layers, --heads and --head-dim',
    );
  }
  const model = withFacts(modelFrom(name, family), overrides);

  const productName = v.gpu ?? 'NVIDIA-H100-80GB-HBM3';
  const gpu = findGpu(productName);
  if (!gpu) {
    throw new UsageError(
      `--gpu '${productName}' is unknown; known: ${GPU_TABLE.map((g) => g.product).join(', ')}`,
    );
  }
  const intraNode: IntraNodeLink =
    oneOf('intra-node', v['intra-node'], ['nvlink', 'pcie'] as const) ??
    (gpu.nvlinkBytesPerSecond > 0 ? 'nvlink' : 'pcie');
  if (intraNode === 'nvlink' && gpu.nvlinkBytesPerSecond === 0) {
    throw new UsageError(`--intra-node nvlink: ${gpu.product} has no NVLink; use --intra-node pcie`);
  }
  const gpusPerNode = integer('gpus-per-node', v['gpus-per-node']) ?? 8;
  const degreesGiven = v.degrees !== undefined ? parseDegrees(v.degrees) : undefined;
  const manualSize = degreesGiven
    ? degreesGiven.dataParallel *
      degreesGiven.cfg *
      degreesGiven.pipefusion *
      degreesGiven.ring *
      degreesGiven.ulysses
    : undefined;
  const size = manualSize ?? groupSize(v.gpus, gpusPerNode);
  if (manualSize !== undefined && v.gpus !== undefined && Number(v.gpus) !== manualSize) {
    throw new UsageError(`--degrees multiply to ${manualSize} GPUs but --gpus says ${v.gpus}`);
  }
  const largest = typeof size === 'number' ? size : size.max;
  const profileName = oneOf('profile', v.profile, Object.keys(PROFILES)) ?? 'compiled';
  const objective: Objective =
    oneOf('objective', v.objective, ['latency', 'throughput'] as const) ?? 'latency';
  const imageTokens = integer('image-tokens', v['image-tokens']);
  const patches = integer('patches', v.patches);
  const warmupSteps = integer('warmup-steps', v['warmup-steps'], 0);
  const approximateRule = oneOf('approximate', v.approximate, ['exact-first', 'prefer', 'forbid'] as const);
  if (approximateRule !== undefined && approximateRule !== 'forbid' && v.pipefusion === false) {
    throw new UsageError(`--no-pipefusion contradicts --approximate ${approximateRule}; give one of them`);
  }
  const marginPercent = integer('approximate-margin', v['approximate-margin'], 0);
  const approximate: ApproximatePolicy = {
    rule: approximateRule ?? (v.pipefusion === false ? 'forbid' : DEFAULT_APPROXIMATE_POLICY.rule),
    margin: marginPercent !== undefined ? marginPercent / 100 : DEFAULT_APPROXIMATE_POLICY.margin,
  };

  const input: PlannerInput = {
    model,
    request: {
      height: integer('height', v.height) ?? 1024,
      width: integer('width', v.width) ?? 1024,
      steps: integer('steps', v.steps) ?? model.defaultSteps,
      maxBatch: integer('batch', v.batch) ?? 1,
      guidanceScale: positiveNumber('guidance', v.guidance) ?? (model.facts.usesCfg ? 7 : 3.5),
    },
    hardware: {
      gpu,
      gpusPerNode,
      nodesAvailable: integer('nodes', v.nodes) ?? Math.max(1, Math.ceil(largest / gpusPerNode)),
      intraNode,
      interNodeGbps: positiveNumber('inter-node-gbps', v['inter-node-gbps']) ?? 400,
    },
    policy: {
      gpusPerGroup: size,
      objective,
      allowPipefusion: approximate.rule !== 'forbid',
      approximate,
      ...(degreesGiven ? { degrees: degreesGiven } : {}),
      ...(patches !== undefined ? { pipelinePatches: patches } : {}),
      ...(warmupSteps !== undefined ? { warmupSteps } : {}),
    },
    ...(imageTokens !== undefined ? { imageTokens } : {}),
  };
  const profile = PROFILES[profileName];
  if (profile) input.profile = profile;
  return {
    input,
    output: oneOf('output', v.output, OUTPUT_FORMATS) ?? 'table',
    top: integer('top', v.top) ?? 10,
  };
}
