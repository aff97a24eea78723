/**
 * The PodDisruptionBudget of a DiTInference. Evicting any pod takes its whole group down (its ranks
 * cannot go on without a peer, and the failure policy recreates the group), so one unavailable pod is
 * one group down: `maxUnavailable: 1` over every pod of the object lets a drain take at most one group
 * at a time, and none while a group is still recreating. Pods that are not Ready may always be evicted
 * (`AlwaysAllow`): a group that is already down must not block a node drain.
 */
import { type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import type { KubeObject } from '../kube/objects.js';
import { childMeta } from './metadata.js';

export interface DisruptionBudgetObject extends KubeObject {
  spec: {
    maxUnavailable: number;
    selector: { matchLabels: Record<string, string> };
    unhealthyPodEvictionPolicy: 'AlwaysAllow' | 'IfHealthyBudget';
  };
}

export function renderDisruptionBudget(inf: DiTInference): DisruptionBudgetObject {
  const name = inf.metadata.name ?? '';
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(inf, name),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { [LABELS.name]: name } },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
