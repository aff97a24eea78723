import type { ClusterTopology } from '../hardware/index.js';
import type { ModelSpec } from '../models/index.js';
import { type Degrees, MESH_AXES, planShortString, type RequestShape } from '../plan/index.js';
import { USABLE_MEMORY_FRACTION } from './memory.js';
import { approximatePolicy } from './policy.js';
import type { RuntimeTraits } from './profiles.js';
import type { MemoryBreakdown, PlannerPolicy, Violation } from './types.js';
import type { Workload } from './workload.js';

/** Models with this many steps or fewer never use PipeFusion: warm-up and fill cannot pay off. */
export const FEW_STEPS = 4;

export interface RuleContext {
  /** The runtime the plan is for: what it can run. */
  runtime: RuntimeTraits;
  model: ModelSpec;
  request: RequestShape;
  workload: Workload;
  topology: ClusterTopology;
  policy: PlannerPolicy;
  warmupSteps: number;
}

const GiB = 2 ** 30;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

/** Degrees must be positive integers whose product is the group's GPU count. */
export function checkShape(d: Degrees, gpus: number): Violation[] {
  const out: Violation[] = [];
  for (const axis of MESH_AXES) {
    const v = d[axis];
    if (!Number.isInteger(v) || v < 1) {
      out.push({ rule: 'degree-value', reason: `${axis}=${v} must be a positive integer` });
    }
  }
  if (out.length > 0) return out;
  const product = d.dataParallel * d.cfg * d.pipefusion * d.ring * d.ulysses;
  if (product !== gpus) {
    out.push({
      rule: 'product',
      reason: `dataParallel×cfg×pipefusion×ring×ulysses = ${product} (${planShortString(d)}) but the group has ${gpus} GPUs`,
    });
  }
  return out;
}

/**
 * The parallelism rules of xDiT (refs/xdit.md §1.2, §9.2) and Tessera's own, for degrees whose
 * shape is valid. Each violation says what is wrong and with which numbers.
 */
export function checkDegrees(d: Degrees, ctx: RuleContext): Violation[] {
  const { model, request, workload: w, policy } = ctx;
  const f = model.facts;
  const out: Violation[] = [];
  const sp = d.ulysses * d.ring;

  if (f.heads % d.ulysses !== 0) {
    out.push({
      rule: 'ulysses-heads',
      reason: `ulysses=${d.ulysses} does not divide heads=${f.heads} of ${model.name}`,
    });
  }
  if (w.tokenRows % sp !== 0) {
    out.push({
      rule: 'sp-latent-height',
      reason:
        `latent height ${w.tokenRows} (patch rows of a ${request.height}px image) is not divisible by ` +
        `the sequence-parallel degree ulysses×ring=${sp}`,
    });
  }
  if (d.cfg !== 1 && d.cfg !== 2) {
    out.push({
      rule: 'cfg-value',
      reason: `cfg=${d.cfg}: CFG parallel splits two branches, so cfg is 1 or 2`,
    });
  } else if (d.cfg === 2 && !f.usesCfg) {
    out.push({
      rule: 'cfg-model',
      reason: `cfg=2 needs true classifier-free guidance, but ${model.name} is guidance-distilled (one branch)`,
    });
  }
  if (d.dataParallel > request.maxBatch) {
    out.push({
      rule: 'data-parallel-batch',
      reason: `dataParallel=${d.dataParallel} exceeds the batch of ${request.maxBatch}: replicas would sit idle`,
    });
  }
  if (d.pipefusion > 1) {
    if (approximatePolicy(policy).rule === 'forbid') {
      out.push({
        rule: 'pipefusion-policy',
        reason: `pipefusion=${d.pipefusion} but the policy forbids approximate methods (PipeFusion)`,
      });
    }
    if (d.pipefusion > f.layers) {
      out.push({
        rule: 'pipefusion-blocks',
        reason: `pipefusion=${d.pipefusion} exceeds the ${f.layers} transformer blocks of ${model.name}`,
      });
    }
    if (d.ring > 1 && !ctx.runtime.ringWithPipefusion) {
      out.push({
        rule: 'pipefusion-ring',
        reason:
          `ring=${d.ring} inside pipefusion=${d.pipefusion}: Tessera's PipeFusion keeps K/V buffers per ` +
          'Ulysses head group, which do not rotate around a ring; use Ulysses inside the stages',
      });
    }
    if (request.steps <= FEW_STEPS || request.steps <= ctx.warmupSteps) {
      out.push({
        rule: 'pipefusion-few-steps',
        reason:
          `pipefusion=${d.pipefusion} cannot pay for its ${ctx.warmupSteps} synchronous warm-up step(s) and ` +
          `pipeline fill in ${request.steps} steps (PipeFusion needs more than ${FEW_STEPS})`,
      });
    }
  }
  return out;
}

/**
 * PipeFusion patches: row bands whose height (in patch rows) is a multiple of the sequence-parallel
 * degree, so each SP rank gets whole rows of every patch. Returns the patch count or a violation.
 * Without a request, starts at the pipeline degree (xDiT's default) and takes the nearest valid count.
 */
export function choosePatches(
  d: Degrees,
  tokenRows: number,
  requested: number | undefined,
): { patches: number } | { violation: Violation } {
  if (d.pipefusion === 1) return { patches: 1 };
  const sp = d.ulysses * d.ring;
  const valid = (m: number) => m >= 1 && tokenRows % m === 0 && (tokenRows / m) % sp === 0;
  if (requested !== undefined) {
    if (valid(requested)) return { patches: requested };
    return {
      violation: {
        rule: 'pipefusion-patch-height',
        reason:
          `${requested} pipeline patches give patch height ${(tokenRows / requested).toFixed(2)} patch rows, ` +
          `not a multiple of patch size × sequence-parallel degree (ulysses×ring=${sp}) over ${tokenRows} rows`,
      },
    };
  }
  for (let m = d.pipefusion; m <= tokenRows; m++) if (valid(m)) return { patches: m };
  return {
    violation: {
      rule: 'pipefusion-patch-height',
      reason:
        `no patch count ≥ pipefusion=${d.pipefusion} splits ${tokenRows} patch rows into bands that are ` +
        `multiples of ulysses×ring=${sp}`,
    },
  };
}

export function checkMemory(memory: MemoryBreakdown, ctx: RuleContext): Violation[] {
  const limit = ctx.topology.gpu.memoryBytes * USABLE_MEMORY_FRACTION;
  if (memory.total <= limit) return [];
  return [
    {
      rule: 'memory',
      reason:
        `needs ${gib(memory.total)} on rank ${memory.rank}${memory.rank === 0 ? ' (the leader)' : ''} (weights ${gib(memory.weights)}, text encoders ` +
        `${gib(memory.textEncoders)}, activations ${gib(memory.activations)}, PipeFusion KV ` +
        `${gib(memory.kvBuffers)}, VAE decode band ${gib(memory.vaePeak)}) but ${ctx.topology.gpu.product} ` +
        `offers ${gib(limit)} usable`,
    },
  ];
}
