import { API_GROUP, API_VERSION, KIND, PLURAL } from '../../shared/api/v1alpha1/index.js';

/** One REST resource: enough to build its URL paths. */
export interface ResourceType {
  /** API group; empty for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const RESOURCES = {
  ditInference: { group: API_GROUP, version: API_VERSION, plural: PLURAL, kind: KIND, namespaced: true },
  statefulSet: {
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    kind: 'StatefulSet',
    namespaced: true,
  },
  service: { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  configMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  node: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  event: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  podDisruptionBudget: {
    group: 'policy',
    version: 'v1',
    plural: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    namespaced: true,
  },
  secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  networkPolicy: {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    kind: 'NetworkPolicy',
    namespaced: true,
  },
  volcanoPodGroup: {
    group: 'scheduling.volcano.sh',
    version: 'v1beta1',
    plural: 'podgroups',
    kind: 'PodGroup',
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

/** `apiVersion` as written in objects (`v1`, `apps/v1`). */
export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/**
 * URL path of a collection (no name) or of one object, optionally a subresource. A namespaced resource
 * without a namespace gives the all-namespaces collection (for list and watch).
 */
export function resourcePath(
  r: ResourceType,
  at: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && at.namespace ? `/namespaces/${encodeURIComponent(at.namespace)}` : '';
  const name = at.name ? `/${encodeURIComponent(at.name)}` : '';
  const sub = at.name && at.subresource ? `/${at.subresource}` : '';
  return `${prefix}${ns}/${r.plural}${name}${sub}`;
}
