import type { V1Node } from '@kubernetes/client-node';
import { type IntraNodeLink, quantityValue, type TopologySpec } from '../../shared/api/v1alpha1/index.js';
import type { GpuPool } from '../pools/pool.js';

/** GPU Feature Discovery labels and the device plugin's resource (NVIDIA/k8s-device-plugin). */
export const GFD_LABELS = {
  product: 'nvidia.com/gpu.product',
  memoryMiB: 'nvidia.com/gpu.memory',
  count: 'nvidia.com/gpu.count',
  /** `<fabric ClusterUUID>.<CliqueID>` on multi-node NVLink systems: one NVLink domain per value. */
  clique: 'nvidia.com/gpu.clique',
} as const;
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** The pool name of the topology `spec.topology` describes when no node exists yet (scale from zero). */
export const SPEC_POOL_NAME = 'spec-topology';

/** What the planner needs to know about the GPUs one group runs on. */
export interface ResolvedTopology {
  gpusPerNode: number;
  gpuProduct: string;
  /** Memory of one GPU in bytes, when known (labels or spec); otherwise the GPU table's figure applies. */
  gpuMemoryBytes?: number;
  /** From `spec.topology.intraNodeLink`; otherwise the planner infers it from the GPU product. */
  intraNodeLink?: IntraNodeLink;
  interNodeBandwidthGbps?: number;
  /**
   * Nodes a group can use; undefined when planning from `spec.topology` alone (nodes may not exist yet,
   * a node autoscaler creates them).
   */
  nodesAvailable?: number;
  /** Distinct NVLink domains (`nvidia.com/gpu.clique`) among the nodes; 0 when unlabelled. */
  nvlinkDomains: number;
  /** `FromNodes` when any field came from nodes, `FromSpec` when all came from `spec.topology`. */
  source: 'FromNodes' | 'FromSpec';
  /** One line for the TopologyResolved condition. */
  description: string;
}

export type TopologyOutcome =
  | { readonly resolved: ResolvedTopology }
  | { readonly unresolved: string /* why, and what to set */ };

export function allocatableGpus(node: V1Node): number {
  const raw = node.status?.allocatable?.[GPU_RESOURCE];
  const n = raw === undefined ? 0 : Number.parseInt(String(raw), 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * The topology a group gets on `pool`, of whose nodes `usableNodes` are ones its pods could use, field
 * by field overridden by `spec`. A pool `spec` rules out (another GPU product, fewer GPUs per node than
 * it asks for) or one whose product nobody names is `unusable`, with the reason.
 */
export function poolTopology(
  pool: GpuPool,
  usableNodes: number,
  spec: TopologySpec | undefined,
): { resolved: ResolvedTopology } | { unusable: string } {
  if (
    spec?.gpuProduct !== undefined &&
    pool.gpuProduct !== undefined &&
    spec.gpuProduct !== pool.gpuProduct
  ) {
    return {
      unusable: `its GPUs are ${pool.gpuProduct}, spec.topology.gpuProduct asks for ${spec.gpuProduct}`,
    };
  }
  if (spec?.gpusPerNode !== undefined && spec.gpusPerNode > pool.gpusPerNode) {
    return {
      unusable: `its nodes have ${pool.gpusPerNode} GPU(s), spec.topology.gpusPerNode asks for ${spec.gpusPerNode}`,
    };
  }
  const gpuProduct = spec?.gpuProduct ?? pool.gpuProduct;
  if (gpuProduct === undefined) {
    return {
      unusable: `its nodes carry no ${GFD_LABELS.product} label (is GPU Feature Discovery running?); set spec.topology.gpuProduct to plan for them`,
    };
  }
  const gpusPerNode = spec?.gpusPerNode ?? pool.gpusPerNode;
  const memoryBytes =
    spec?.gpuMemory !== undefined
      ? quantityValue(spec.gpuMemory, 'spec.topology.gpuMemory')
      : pool.gpuMemoryMiB !== undefined
        ? pool.gpuMemoryMiB * 1024 * 1024
        : undefined;
  const link = spec?.intraNodeLink ?? (pool.nvlinkDomain !== undefined ? 'NVLink' : undefined);
  return {
    resolved: {
      gpusPerNode,
      gpuProduct,
      ...(memoryBytes !== undefined ? { gpuMemoryBytes: memoryBytes } : {}),
      // A node in an NVLink clique (GFD's gpu.clique) has NVLink between its GPUs, whatever the product.
      ...(link !== undefined ? { intraNodeLink: link } : {}),
      ...(spec?.interNodeBandwidthGbps ? { interNodeBandwidthGbps: spec.interNodeBandwidthGbps } : {}),
      nodesAvailable: usableNodes,
      nvlinkDomains: pool.nvlinkDomain !== undefined ? 1 : 0,
      source: 'FromNodes',
      description: `${pool.name}: ${usableNodes} node(s) with ${gpusPerNode}× ${gpuProduct}${
        pool.nvlinkDomain !== undefined ? ` in NVLink domain ${pool.nvlinkDomain}` : ''
      }${link ? `, ${link}` : ''}`,
    },
  };
}

/**
 * The topology `spec.topology` alone describes, for planning before any node exists (a node autoscaler
 * from zero); undefined unless it names both GPUs per node and the product.
 */
export function specTopology(spec: TopologySpec | undefined): ResolvedTopology | undefined {
  if (spec?.gpusPerNode === undefined || spec.gpuProduct === undefined) return undefined;
  return {
    gpusPerNode: spec.gpusPerNode,
    gpuProduct: spec.gpuProduct,
    ...(spec.gpuMemory !== undefined
      ? { gpuMemoryBytes: quantityValue(spec.gpuMemory, 'spec.topology.gpuMemory') }
      : {}),
    ...(spec.intraNodeLink ? { intraNodeLink: spec.intraNodeLink } : {}),
    ...(spec.interNodeBandwidthGbps ? { interNodeBandwidthGbps: spec.interNodeBandwidthGbps } : {}),
    nvlinkDomains: 0,
    source: 'FromSpec',
    description: `no matching nodes yet; planning from spec.topology: ${spec.gpusPerNode}× ${spec.gpuProduct} per node`,
  };
}
