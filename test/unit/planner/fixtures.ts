import { type ClusterTopology, gpuSpec } from '../../../src/shared/hardware/index.js';
import { modelPreset } from '../../../src/shared/models/index.js';
import type { Degrees, RequestShape } from '../../../src/shared/plan/index.js';
import type { PlannerInput, PlannerPolicy } from '../../../src/shared/planner/index.js';

export function request(over: Partial<RequestShape> = {}): RequestShape {
  return { height: 1024, width: 1024, steps: 28, maxBatch: 1, guidanceScale: 3.5, ...over };
}

/** Degrees of one plain rank, overridden where a test is about an axis. */
export const deg = (over: Partial<Degrees>): Degrees => ({
  dataParallel: 1,
  cfg: 1,
  pipefusion: 1,
  ring: 1,
  ulysses: 1,
  ...over,
});

export function h100Nodes(nodes = 1, over: Partial<ClusterTopology> = {}): ClusterTopology {
  return {
    gpu: gpuSpec('NVIDIA-H100-80GB-HBM3'),
    gpusPerNode: 8,
    nodesAvailable: nodes,
    intraNode: 'nvlink',
    interNodeGbps: 400,
    ...over,
  };
}

export function l40Node(over: Partial<ClusterTopology> = {}): ClusterTopology {
  return {
    gpu: gpuSpec('l40'),
    gpusPerNode: 8,
    nodesAvailable: 1,
    intraNode: 'pcie',
    interNodeGbps: 100,
    ...over,
  };
}

/** A planner input with sensible defaults; override what a test is about. */
export function input(
  model: string,
  over: { request?: Partial<RequestShape>; hardware?: ClusterTopology; policy?: Partial<PlannerPolicy> } = {},
): PlannerInput {
  return {
    model: modelPreset(model),
    request: request(over.request),
    hardware: over.hardware ?? h100Nodes(),
    policy: { gpusPerGroup: 8, objective: 'latency', allowPipefusion: true, ...over.policy },
  };
}
