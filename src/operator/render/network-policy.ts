/**
 * The NetworkPolicy of one group: its pods take connections from the group's own pods on any port (the
 * rendezvous store, gloo's and NCCL's ephemeral ports) and from anywhere on the serving port (requests,
 * probes, metrics) — nothing else. It adds a layer under the group secret, and it is the only one for
 * NCCL, whose sockets cannot be authenticated. Enforcing it needs a CNI that implements NetworkPolicy
 * (Calico, Cilium, …); without one the API server stores it and nothing happens (docs/operator.md).
 */
import { type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import type { KubeObject } from '../kube/objects.js';
import { childMeta } from './metadata.js';
import { groupName } from './names.js';

interface LabelSelector {
  matchLabels: Record<string, string>;
}

export interface NetworkPolicyObject extends KubeObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes: ['Ingress'];
    ingress: Array<{
      from?: Array<{ podSelector: LabelSelector }>;
      ports?: Array<{ protocol: 'TCP'; port: number }>;
    }>;
  };
}

/** The labels of every pod of group `index` (and of no other pod). */
export function groupPodLabels(inf: DiTInference, index: number): Record<string, string> {
  return { [LABELS.name]: inf.metadata.name ?? '', [LABELS.groupIndex]: String(index) };
}

/** Named as the group's StatefulSet. */
export function networkPolicyName(inf: DiTInference, index: number): string {
  return groupName(inf.metadata.name ?? '', index);
}

export function renderNetworkPolicy(inf: DiTInference, index: number): NetworkPolicyObject {
  const group = { matchLabels: groupPodLabels(inf, index) };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(inf, networkPolicyName(inf, index), {
      labels: { [LABELS.groupIndex]: String(index) },
    }),
    spec: {
      podSelector: group,
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: group }] },
        { ports: [{ protocol: 'TCP', port: inf.spec.serving.port }] },
      ],
    },
  };
}
