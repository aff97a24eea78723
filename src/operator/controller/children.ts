import type { V1ConfigMap, V1Node, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import type { Informer } from '../informers/informer.js';
import { controllerOf } from '../kube/objects.js';
import { nodeLosses, type ObservedGroup } from '../policy/group-observation.js';
import { groupIndexOf, planConfigMapName } from '../render/names.js';
import { isNodeReady } from '../topology/node-match.js';

/** The informer caches the reconciler reads from. */
export interface Caches {
  readonly inferences: Informer<DiTInference>;
  readonly statefulSets: Informer<V1StatefulSet>;
  readonly pods: Informer<V1Pod>;
  readonly configMaps: Informer<V1ConfigMap>;
  readonly services: Informer<V1Service>;
  readonly nodes: Informer<V1Node>;
  /** Every pod bound to a node and not finished, of any owner, trimmed to what free GPUs need. */
  readonly boundPods: Informer<V1Pod>;
}

/**
 * Everything that exists for one DiTInference, sorted once at the start of a reconcile; later steps
 * read only this snapshot. Only objects whose controller is this very object (by UID) count, so the
 * leftovers of a deleted namesake are never adopted or touched.
 */
export interface Children {
  readonly groups: ReadonlyMap<number, ObservedGroup>;
  readonly planConfigMap: V1ConfigMap | undefined;
  readonly services: ReadonlyMap<string, V1Service>;
}

function ownedBy(uid: string | undefined) {
  return (o: { metadata?: { ownerReferences?: Array<{ uid: string; controller?: boolean }> } }) =>
    uid !== undefined && controllerOf(o as Parameters<typeof controllerOf>[0])?.uid === uid;
}

export function observeChildren(inf: DiTInference, caches: Caches): Children {
  const ns = inf.metadata.namespace ?? '';
  const name = inf.metadata.name ?? '';
  const owned = ownedBy(inf.metadata.uid);
  const mine = (o: { metadata?: { namespace?: string; labels?: Record<string, string> } }) =>
    o.metadata?.namespace === ns && o.metadata?.labels?.[LABELS.name] === name;

  const nodeReady = (nodeName: string): boolean | undefined => {
    const node = caches.nodes.get(nodeName);
    return node === undefined ? undefined : isNodeReady(node);
  };
  const podsByGroup = new Map<number, V1Pod[]>();
  for (const pod of caches.pods.list()) {
    if (!mine(pod)) continue;
    const index = Number(pod.metadata?.labels?.[LABELS.groupIndex]);
    if (!Number.isInteger(index)) continue;
    const list = podsByGroup.get(index) ?? [];
    list.push(pod);
    podsByGroup.set(index, list);
  }

  const groups = new Map<number, ObservedGroup>();
  for (const sts of caches.statefulSets.list()) {
    if (!mine(sts) || !owned(sts)) continue;
    const index = groupIndexOf(name, sts.metadata?.name ?? '');
    if (index === undefined) continue;
    // Pods are the StatefulSet's when its controller owns them (a replaced StatefulSet's pods are not).
    const pods = (podsByGroup.get(index) ?? []).filter((p) => controllerOf(p)?.uid === sts.metadata?.uid);
    groups.set(index, { index, statefulSet: sts, pods, nodeLosses: nodeLosses(pods, nodeReady) });
  }

  const planConfigMap = caches.configMaps.get(`${ns}/${planConfigMapName(name)}`);
  const services = new Map<string, V1Service>();
  for (const svc of caches.services.list()) {
    if (mine(svc) && owned(svc)) services.set(svc.metadata?.name ?? '', svc);
  }
  return {
    groups,
    planConfigMap: planConfigMap && owned(planConfigMap) ? planConfigMap : undefined,
    services,
  };
}
