import {
  API_GROUP_VERSION,
  type DiTInference,
  KIND,
  LABELS,
  OPERATOR_MANAGER,
} from '../../shared/api/v1alpha1/index.js';
import type { ObjectMeta, OwnerReference } from '../kube/objects.js';

/** The controller owner reference every child carries, so the garbage collector removes it with its owner. */
export function ownerReference(inf: DiTInference): OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    name: inf.metadata.name ?? '',
    uid: inf.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Labels on every child object (and pod) of a DiTInference. */
export function commonLabels(inf: DiTInference): Record<string, string> {
  return { [LABELS.name]: inf.metadata.name ?? '', [LABELS.managedBy]: OPERATOR_MANAGER };
}

/** Metadata of a child object: name, namespace, common labels, owner. */
export function childMeta(
  inf: DiTInference,
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): ObjectMeta {
  return {
    name,
    namespace: inf.metadata.namespace ?? '',
    labels: { ...commonLabels(inf), ...extra.labels },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    ownerReferences: [ownerReference(inf)],
  };
}
