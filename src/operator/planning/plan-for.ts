import type { ApproximateMethodsSpec, DiTInferenceSpec } from '../../shared/api/v1alpha1/index.js';
import { CONDITION_REASONS } from '../../shared/api/v1alpha1/index.js';
import { type ClusterTopology, findGpu, GPU_TABLE } from '../../shared/hardware/index.js';
import { type ModelSpec, modelPreset } from '../../shared/models/index.js';
import { PLAN_SCHEMA_VERSION, type Plan } from '../../shared/plan/index.js';
import {
  type ApproximatePolicy,
  DEFAULT_APPROXIMATE_POLICY,
  type GroupSize,
  NoFeasiblePlanError,
  type PlannerInput,
  PlannerInputError,
  plan,
} from '../../shared/planner/index.js';
import type { ResolvedTopology } from '../topology/resolve.js';

/**
 * Inter-node bandwidth assumed when neither `spec.topology.interNodeBandwidthGbps` nor the nodes say:
 * one 400G NIC per node, the common floor of current GPU clouds.
 */
export const DEFAULT_INTER_NODE_GBPS = 400;

export type PlanningOutcome =
  | { readonly plan: Plan }
  | {
      readonly rejected: {
        readonly reason: typeof CONDITION_REASONS.noFeasiblePlan | typeof CONDITION_REASONS.invalidSpec;
        readonly message: string;
      };
    };

/**
 * Runs the planner for a spec on a resolved topology, translating the API's spelling into the planner's
 * input and the planner's errors into condition reasons. Pure.
 *
 * Auto mode without `gpusPerGroup(Range)` plans groups of at most one node: a group spanning nodes is a
 * decision about network cost a user makes explicitly.
 */
export function planFor(spec: DiTInferenceSpec, topology: ResolvedTopology): PlanningOutcome {
  try {
    const input = plannerInput(spec, topology);
    const { chosen } = plan(input);
    return { plan: contractPlan(chosen) };
  } catch (err) {
    if (err instanceof NoFeasiblePlanError) {
      return { rejected: { reason: CONDITION_REASONS.noFeasiblePlan, message: err.message } };
    }
    if (err instanceof PlannerInputError || err instanceof SpecError) {
      return { rejected: { reason: CONDITION_REASONS.invalidSpec, message: err.message } };
    }
    throw err;
  }
}

/** A spec value the operator cannot turn into planner input; the message names the field. */
class SpecError extends Error {
  override readonly name = 'SpecError';
}

export function plannerInput(spec: DiTInferenceSpec, topology: ResolvedTopology): PlannerInput {
  const gpu = findGpu(topology.gpuProduct);
  if (!gpu) {
    const known = GPU_TABLE.map((g) => g.product).join(', ');
    throw new SpecError(
      `GPU product '${topology.gpuProduct}' is unknown to the planner; set spec.topology.gpuProduct to one of: ${known}`,
    );
  }
  const p = spec.parallelism;
  const manual = p.mode === 'Manual' ? p.degrees : undefined;
  const gpusPerGroup: GroupSize = manual
    ? manual.dataParallel * manual.cfg * manual.pipefusion * manual.ring * manual.ulysses
    : (p.gpusPerGroup ?? p.gpusPerGroupRange ?? { min: 1, max: topology.gpusPerNode });
  const largest = typeof gpusPerGroup === 'number' ? gpusPerGroup : gpusPerGroup.max;
  const hardware: ClusterTopology = {
    gpu: topology.gpuMemoryBytes !== undefined ? { ...gpu, memoryBytes: topology.gpuMemoryBytes } : gpu,
    gpusPerNode: topology.gpusPerNode,
    // Without nodes (autoscaling from zero) the autoscaler brings as many as the group needs.
    nodesAvailable: topology.nodesAvailable ?? Math.max(1, Math.ceil(largest / topology.gpusPerNode)),
    intraNode: topology.intraNodeLink
      ? topology.intraNodeLink === 'NVLink'
        ? 'nvlink'
        : 'pcie'
      : gpu.nvlinkBytesPerSecond > 0
        ? 'nvlink'
        : 'pcie',
    interNodeGbps: topology.interNodeBandwidthGbps ?? DEFAULT_INTER_NODE_GBPS,
  };
  return {
    model: modelFor(spec),
    request: {
      height: spec.request.height,
      width: spec.request.width,
      steps: spec.request.steps,
      maxBatch: spec.request.maxBatch,
      guidanceScale: spec.request.guidanceScale,
    },
    hardware,
    policy: {
      gpusPerGroup,
      objective: p.objective === 'Throughput' ? 'throughput' : 'latency',
      allowPipefusion: true,
      approximate: approximatePolicyOf(p.approximateMethods),
      ...(manual ? { degrees: { ...manual } } : {}),
      ...(p.pipeline?.patches !== undefined ? { pipelinePatches: p.pipeline.patches } : {}),
      ...(p.pipeline?.warmupSteps !== undefined ? { warmupSteps: p.pipeline.warmupSteps } : {}),
    },
  };
}

const APPROXIMATE_RULES = { ExactFirst: 'exact-first', Forbid: 'forbid', Prefer: 'prefer' } as const;

/** `spec.parallelism.approximateMethods` in the planner's terms; omitted means ExactFirst with 10 %. */
function approximatePolicyOf(spec: ApproximateMethodsSpec | undefined): ApproximatePolicy {
  if (!spec) return DEFAULT_APPROXIMATE_POLICY;
  return { rule: APPROXIMATE_RULES[spec.policy], margin: spec.marginPercent / 100 };
}

/**
 * The planner's model: the preset, with `spec.model.facts` laid over it. A `custom` architecture borrows
 * the non-transformer parts (text encoders, VAE) of the preset of the same attention style and
 * estimates parameters from the transformer's shape (12·d² per block).
 */
function modelFor(spec: DiTInferenceSpec): ModelSpec {
  const { architecture, facts } = spec.model;
  if (architecture !== 'custom') {
    const preset = modelPreset(architecture);
    if (!facts) return preset;
    return {
      ...preset,
      facts: {
        ...preset.facts,
        layers: facts.layers,
        heads: facts.heads,
        headDim: facts.headDim,
        textTokens: facts.textTokens,
        usesCfg: facts.guidance === 'CFG',
      },
    };
  }
  if (!facts) throw new SpecError('spec.model.facts is required when spec.model.architecture is custom');
  const base = modelPreset(facts.textTokens > 0 ? 'sd3-medium' : 'pixart-sigma');
  const width = facts.heads * facts.headDim;
  return {
    ...base,
    name: 'custom',
    facts: {
      ...base.facts,
      layers: facts.layers,
      heads: facts.heads,
      headDim: facts.headDim,
      textTokens: facts.textTokens,
      usesCfg: facts.guidance === 'CFG',
      parameters: 12 * width * width * facts.layers,
    },
  };
}

/** Only the fields of the plan contract go to the runtime (the planner adds explanations). */
function contractPlan(p: Plan): Plan {
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    model: p.model,
    request: p.request,
    degrees: p.degrees,
    gpusPerGroup: p.gpusPerGroup,
    podsPerGroup: p.podsPerGroup,
    gpusPerPod: p.gpusPerPod,
    pipeline: p.pipeline,
    ranks: p.ranks,
    predicted: p.predicted,
    reason: p.reason,
  };
}
