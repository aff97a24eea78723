import type { V1Node } from '@kubernetes/client-node';
import { type IntraNodeLink, quantityValue, type TopologySpec } from '../../shared/api/v1alpha1/index.js';

/** GPU Feature Discovery labels and the device plugin's resource (NVIDIA/k8s-device-plugin). */
export const GFD_LABELS = {
  product: 'nvidia.com/gpu.product',
  memoryMiB: 'nvidia.com/gpu.memory',
  /** `<fabric ClusterUUID>.<CliqueID>` on multi-node NVLink systems: one NVLink domain per value. */
  clique: 'nvidia.com/gpu.clique',
} as const;
export const GPU_RESOURCE = 'nvidia.com/gpu';

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
  /** Distinct NVLink domains (`nvidia.com/gpu.clique`) among the matching nodes; 0 when unlabelled. */
  nvlinkDomains: number;
  /** `FromNodes` when any field came from nodes, `FromSpec` when all came from `spec.topology`. */
  source: 'FromNodes' | 'FromSpec';
  /** One line for the TopologyResolved condition. */
  description: string;
}

export type TopologyOutcome =
  | { readonly resolved: ResolvedTopology }
  | { readonly unresolved: string /* why, and what to set */ };

/** A set of nodes that look alike: same GPU count and product. */
interface NodeClass {
  gpus: number;
  product: string | undefined;
  memoryMiB: number | undefined;
  nodes: V1Node[];
}

function allocatableGpus(node: V1Node): number {
  const raw = node.status?.allocatable?.[GPU_RESOURCE];
  const n = raw === undefined ? 0 : Number.parseInt(String(raw), 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Reads the topology a group would get from `candidates` (nodes its pods could land on), field by field
 * overridden by `spec`. Nodes are grouped by (GPU count, product) and the largest class wins, so one odd
 * node does not decide the plan. With no GPU node, `spec` alone must name GPUs per node and the product
 * (autoscaling from zero); otherwise the outcome is unresolved with the fields to set.
 */
export function resolveTopology(
  candidates: readonly V1Node[],
  spec: TopologySpec | undefined,
): TopologyOutcome {
  const classes = new Map<string, NodeClass>();
  for (const node of candidates) {
    const gpus = allocatableGpus(node);
    if (gpus <= 0) continue;
    const labels = node.metadata?.labels ?? {};
    const product = labels[GFD_LABELS.product];
    const memory = Number.parseInt(labels[GFD_LABELS.memoryMiB] ?? '', 10);
    const key = `${gpus}/${product ?? ''}`;
    const c = classes.get(key) ?? {
      gpus,
      product,
      memoryMiB: Number.isFinite(memory) ? memory : undefined,
      nodes: [],
    };
    c.nodes.push(node);
    classes.set(key, c);
  }
  const best = [...classes.values()].sort((a, b) => b.nodes.length - a.nodes.length || b.gpus - a.gpus)[0];

  const gpusPerNode = spec?.gpusPerNode ?? best?.gpus;
  const gpuProduct = spec?.gpuProduct ?? best?.product;
  if (gpusPerNode === undefined || gpuProduct === undefined) {
    const missing = [
      gpusPerNode === undefined ? 'spec.topology.gpusPerNode' : '',
      gpuProduct === undefined ? 'spec.topology.gpuProduct' : '',
    ].filter(Boolean);
    const why = best
      ? `the matching GPU nodes carry no ${GFD_LABELS.product} label (is GPU Feature Discovery running?)`
      : `no Ready node with allocatable ${GPU_RESOURCE} matches the placement (node selector, tolerations)`;
    return { unresolved: `${why}; set ${missing.join(' and ')} to plan without them` };
  }

  const memoryBytes =
    spec?.gpuMemory !== undefined
      ? quantityValue(spec.gpuMemory, 'spec.topology.gpuMemory')
      : best?.memoryMiB !== undefined && best.product === gpuProduct
        ? best.memoryMiB * 1024 * 1024
        : undefined;
  const fromNodes = best !== undefined && (spec?.gpusPerNode === undefined || spec.gpuProduct === undefined);
  const cliques = new Set(
    (best?.nodes ?? []).map((n) => n.metadata?.labels?.[GFD_LABELS.clique]).filter((v) => v !== undefined),
  );
  const resolved: ResolvedTopology = {
    gpusPerNode,
    gpuProduct,
    ...(memoryBytes !== undefined ? { gpuMemoryBytes: memoryBytes } : {}),
    // A node in an NVLink clique (GFD's gpu.clique) has NVLink between its GPUs, whatever the product.
    ...(spec?.intraNodeLink
      ? { intraNodeLink: spec.intraNodeLink }
      : cliques.size > 0
        ? { intraNodeLink: 'NVLink' as const }
        : {}),
    ...(spec?.interNodeBandwidthGbps ? { interNodeBandwidthGbps: spec.interNodeBandwidthGbps } : {}),
    ...(best ? { nodesAvailable: best.nodes.length } : {}),
    nvlinkDomains: cliques.size,
    source: fromNodes ? 'FromNodes' : 'FromSpec',
    description: best
      ? `${best.nodes.length} node(s) with ${gpusPerNode}× ${gpuProduct}${cliques.size > 0 ? ` in ${cliques.size} NVLink domain(s)` : ''}${spec ? ' (spec.topology overrides applied)' : ''}`
      : `no matching nodes yet; planning from spec.topology: ${gpusPerNode}× ${gpuProduct} per node`,
  };
  return { resolved };
}
