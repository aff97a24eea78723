import type { V1Node } from '@kubernetes/client-node';
import { decidePlacement, type PlacementState } from '../../../src/operator/controller/placement-decision.js';
import type { DiTInference } from '../../../src/shared/api/v1alpha1/index.js';
import { buildNode } from './builders.js';

export const H100 = 'NVIDIA-H100-80GB-HBM3';
export const L40S = 'NVIDIA-L40S';

function gpuNodes(prefix: string, product: string, memoryMiB: number) {
  return (count: number, labels: Record<string, string> = {}): V1Node[] =>
    Array.from({ length: count }, (_, i) =>
      buildNode(`${prefix}-${i}`, {
        gpus: 8,
        product,
        memoryMiB,
        labels: { 'nvidia.com/gpu.count': '8', ...labels },
      }),
    );
}

/** `count` nodes of 8 H100 with GPU Feature Discovery's labels, one pool. */
export const h100Nodes = (count = 4, labels: Record<string, string> = {}) =>
  gpuNodes('h100', H100, 81559)(count, labels);

/** `count` nodes of 8 L40S with GPU Feature Discovery's labels, one pool. */
export const l40sNodes = (count = 2, labels: Record<string, string> = {}) =>
  gpuNodes('l40s', L40S, 46068)(count, labels);

/** What the operator decides for a new object (no children yet) on these nodes with every GPU free. */
export function placementFor(inf: DiTInference, nodes: readonly V1Node[] = h100Nodes()): PlacementState {
  return decidePlacement({
    inference: inf,
    children: { groups: new Map(), planConfigMap: undefined, services: new Map() },
    nodes,
    boundPods: [],
    defaultTolerations: [],
  });
}
