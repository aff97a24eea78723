import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { allocatableGpus, GPU_RESOURCE } from '../topology/resolve.js';

function containerGpus(c: V1Container): number {
  // For extended resources such as GPUs, requests equal limits; either may be the one written.
  const raw = c.resources?.requests?.[GPU_RESOURCE] ?? c.resources?.limits?.[GPU_RESOURCE];
  const n = raw === undefined ? 0 : Number.parseInt(String(raw), 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** GPUs a pod holds on its node, as the scheduler counts them (init containers run one at a time). */
export function podGpus(pod: V1Pod): number {
  const app = (pod.spec?.containers ?? []).reduce((n, c) => n + containerGpus(c), 0);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map(containerGpus));
  return Math.max(app, init);
}

/**
 * Free GPUs of each node: allocatable minus what the pods bound to it hold. `boundPods` are the pods
 * that hold resources (bound, not finished), of every namespace and owner.
 */
export function freeGpus(nodes: readonly V1Node[], boundPods: readonly V1Pod[]): Map<string, number> {
  const used = new Map<string, number>();
  for (const pod of boundPods) {
    const node = pod.spec?.nodeName;
    if (!node) continue;
    used.set(node, (used.get(node) ?? 0) + podGpus(pod));
  }
  const free = new Map<string, number>();
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    free.set(name, Math.max(0, allocatableGpus(node) - (used.get(name) ?? 0)));
  }
  return free;
}

/**
 * How many whole groups of `podsPerGroup` pods × `gpusPerPod` GPUs fit in nodes with these free GPUs,
 * with no two pods of one group on one node (the group's anti-affinity). g groups fit exactly when
 * Σ min(slots of node, g) ≥ g · podsPerGroup: each node gives at most one pod to each group.
 */
export function groupsThatFit(
  freeGpusPerNode: readonly number[],
  podsPerGroup: number,
  gpusPerPod: number,
): number {
  if (podsPerGroup <= 0 || gpusPerPod <= 0) return 0;
  const slots = freeGpusPerNode.map((f) => Math.floor(f / gpusPerPod)).filter((s) => s > 0);
  let g = Math.floor(slots.reduce((a, b) => a + b, 0) / podsPerGroup);
  while (g > 0 && slots.reduce((n, s) => n + Math.min(s, g), 0) < g * podsPerGroup) g--;
  return g;
}
