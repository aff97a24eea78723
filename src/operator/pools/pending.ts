import type { V1Pod } from '@kubernetes/client-node';

/**
 * The scheduler's reason for not placing a pod (its `PodScheduled=False` condition, e.g. `0/8 nodes are
 * available: 2 Insufficient nvidia.com/gpu, 6 node(s) didn't match Pod's node affinity/selector.`), or
 * undefined for a pod that is bound or not yet looked at.
 */
export function unschedulableReason(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return undefined;
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
  if (!c) return undefined;
  return (c.message ?? c.reason ?? 'unschedulable').trim();
}

/** The most frequent of several reasons (ties: the first seen), with how many more differ. */
export function commonestReason(reasons: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  let best: string | undefined;
  for (const [r, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = r;
  return best;
}
