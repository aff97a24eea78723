import type { V1Affinity, V1Node, V1NodeSelectorRequirement, V1Taint } from '@kubernetes/client-node';
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

function requirementHolds(labels: Record<string, string>, r: V1NodeSelectorRequirement): boolean {
  const value = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const n = Number.parseInt(value ?? '', 10);
      const bound = Number.parseInt(values[0] ?? '', 10);
      if (!Number.isFinite(n) || !Number.isFinite(bound)) return false;
      return r.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/**
 * Whether the user's required node affinity admits `node`, with the scheduler's rules: the terms are
 * ORed, the requirements of a term ANDed (`matchFields` on `metadata.name` only, the one field it
 * supports). No required node affinity admits every node.
 */
export function nodeAffinityAllows(node: V1Node, affinity: V1Affinity | undefined): boolean {
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  const labels = node.metadata?.labels ?? {};
  const fields = { 'metadata.name': node.metadata?.name ?? '' };
  return terms.some(
    (t) =>
      (t.matchExpressions ?? []).every((r) => requirementHolds(labels, r)) &&
      (t.matchFields ?? []).every((r) => requirementHolds(fields, r)),
  );
}
