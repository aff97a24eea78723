import type { V1Node } from '@kubernetes/client-node';
import { stableHash } from '../render/hash.js';
import { allocatableGpus, GFD_LABELS } from '../topology/resolve.js';

/**
 * Labels that name a node group: Karpenter node pools, GKE node pools, EKS managed node groups (and
 * eksctl's), AKS agent pools. The first one a node carries is its node group.
 */
export const NODE_GROUP_LABELS = [
  'karpenter.sh/nodepool',
  'cloud.google.com/gke-nodepool',
  'eks.amazonaws.com/nodegroup',
  'alpha.eksctl.io/nodegroup-name',
  'kubernetes.azure.com/agentpool',
] as const;

/** The labels that make nodes interchangeable for a plan, besides the node group. */
const HARDWARE_LABELS = [
  GFD_LABELS.product,
  GFD_LABELS.count,
  GFD_LABELS.memoryMiB,
  GFD_LABELS.clique,
] as const;

/**
 * A GPU pool: nodes that look alike to the planner and to the scheduler — same GPU product, GPU count,
 * GPU memory, NVLink domain and node group. A plan made for one node of a pool holds for every node of
 * it, so a group's pods are pinned to its pool's labels.
 */
export interface GpuPool {
  /** Stable and label-safe: the node group's name, else `<gpu product>-x<gpus per node>`. */
  readonly name: string;
  /** The labels (and values) every node of the pool carries and that tell it from other pools. */
  readonly selector: Readonly<Record<string, string>>;
  readonly gpuProduct?: string;
  readonly gpusPerNode: number;
  readonly gpuMemoryMiB?: number;
  /** `nvidia.com/gpu.clique`: the multi-node NVLink domain its nodes share. */
  readonly nvlinkDomain?: string;
  readonly nodeGroup?: string;
  /** Every node of the pool, whatever its state. */
  readonly nodes: readonly V1Node[];
}

interface PoolDraft {
  selector: Record<string, string>;
  gpusPerNode: number;
  nodes: V1Node[];
}

/**
 * The GPU pools of a cluster: nodes with allocatable GPUs grouped by the labels that define a pool.
 * Nodes without GPU Feature Discovery labels are told apart by their allocatable GPU count. Pools are
 * sorted by name.
 */
export function discoverPools(nodes: readonly V1Node[]): GpuPool[] {
  const drafts = new Map<string, PoolDraft>();
  for (const node of nodes) {
    const allocatable = allocatableGpus(node);
    if (allocatable <= 0) continue;
    const labels = node.metadata?.labels ?? {};
    const selector: Record<string, string> = {};
    for (const key of HARDWARE_LABELS) if (labels[key] !== undefined) selector[key] = labels[key];
    const groupKey = NODE_GROUP_LABELS.find((k) => labels[k] !== undefined);
    if (groupKey) selector[groupKey] = labels[groupKey] as string;
    const counted = Number.parseInt(selector[GFD_LABELS.count] ?? '', 10);
    const key = JSON.stringify([selector, Number.isFinite(counted) ? 0 : allocatable]);
    const draft = drafts.get(key) ?? {
      selector,
      gpusPerNode: Number.isFinite(counted) && counted > 0 ? counted : allocatable,
      nodes: [],
    };
    draft.nodes.push(node);
    drafts.set(key, draft);
  }
  const pools = [...drafts.entries()].map(([key, d]) => toPool(key, d));
  return uniqueNames(pools).sort((a, b) => a.name.localeCompare(b.name));
}

function toPool(key: string, d: PoolDraft): GpuPool & { key: string } {
  const s = d.selector;
  const memory = Number.parseInt(s[GFD_LABELS.memoryMiB] ?? '', 10);
  const groupKey = NODE_GROUP_LABELS.find((k) => s[k] !== undefined);
  const gpuProduct = s[GFD_LABELS.product];
  const nvlinkDomain = s[GFD_LABELS.clique];
  const nodeGroup = groupKey ? s[groupKey] : undefined;
  const base = nodeGroup ?? `${gpuProduct ?? 'gpu'}-x${d.gpusPerNode}`;
  return {
    key,
    name: labelSafe(nvlinkDomain ? `${base}-${nvlinkDomain}` : base),
    selector: s,
    ...(gpuProduct !== undefined ? { gpuProduct } : {}),
    gpusPerNode: d.gpusPerNode,
    ...(Number.isFinite(memory) ? { gpuMemoryMiB: memory } : {}),
    ...(nvlinkDomain !== undefined ? { nvlinkDomain } : {}),
    ...(nodeGroup !== undefined ? { nodeGroup } : {}),
    nodes: d.nodes,
  };
}

/**
 * Two pools whose labels differ only where the name does not look (a node group with two GPU products,
 * say) both get a suffix from their labels, so each name stays the same for as long as its labels do.
 */
function uniqueNames(pools: (GpuPool & { key: string })[]): GpuPool[] {
  const byName = new Map<string, number>();
  for (const p of pools) byName.set(p.name, (byName.get(p.name) ?? 0) + 1);
  return pools.map(({ key, ...p }) =>
    (byName.get(p.name) ?? 0) > 1 ? { ...p, name: labelSafe(`${p.name}-${stableHash(key).slice(0, 6)}`) } : p,
  );
}

/** A Kubernetes label value: lowercase letters, digits, '-', '.', at most 63, alphanumeric at both ends. */
export function labelSafe(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (cleaned.length <= 63) return cleaned || 'pool';
  return `${cleaned.slice(0, 54).replace(/[^a-z0-9]+$/, '')}-${stableHash(cleaned).slice(0, 8)}`;
}
