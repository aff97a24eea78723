import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { Toleration } from '../../shared/api/v1alpha1/index.js';

/** Whether a toleration matches a taint, with the scheduler's rules. */
export function tolerates(t: Toleration, taint: V1Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** Taints that keep a pod off a node (PreferNoSchedule only discourages). */
function blocking(taint: V1Taint): boolean {
  return taint.effect === 'NoSchedule' || taint.effect === 'NoExecute';
}

export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Whether a pod with this node selector and these tolerations could be placed on `node`: the node is
 * Ready and schedulable, carries every selected label, and every blocking taint is tolerated. Affinity
 * is left to the scheduler (it only narrows further).
 */
export function podCouldLandOn(
  node: V1Node,
  nodeSelector: Record<string, string>,
  tolerations: readonly Toleration[],
): boolean {
  if (node.spec?.unschedulable) return false;
  if (!isNodeReady(node)) return false;
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(nodeSelector)) if (labels[k] !== v) return false;
  for (const taint of node.spec?.taints ?? []) {
    if (blocking(taint) && !tolerations.some((t) => tolerates(t, taint))) return false;
  }
  return true;
}
