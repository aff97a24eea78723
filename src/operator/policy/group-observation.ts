import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { LABELS } from '../../shared/api/v1alpha1/index.js';
import { OPERATOR_ANNOTATIONS } from '../render/keys.js';

/** A pod identity as the bookkeeping records it: `name=uid`, so messages can name the pod. */
export interface PodRef {
  readonly name: string;
  readonly uid: string;
}

/** What the operator recorded on a group's StatefulSet (see OPERATOR_ANNOTATIONS). */
export interface GroupBookkeeping {
  /** Pods of the running group, recorded once it was complete; empty while it forms. */
  readonly members: readonly PodRef[];
  /** Pods being replaced (a recreation or a roll); the group re-forms once all are gone. */
  readonly recreating: readonly PodRef[];
  readonly restarts: number;
  readonly recreatedAt: string | undefined;
  readonly restartsToken: string;
}

/** A pod whose node is gone or not Ready: its ranks are lost, whatever the pod object still says. */
export interface NodeLoss {
  readonly pod: string;
  readonly node: string;
  readonly why: 'deleted' | 'NotReady';
}

/** One group as observed: its StatefulSet, its pods, and the pods whose node was lost. */
export interface ObservedGroup {
  readonly index: number;
  readonly statefulSet: V1StatefulSet;
  readonly pods: readonly V1Pod[];
  /** Pods bound to a node that no longer exists or is not Ready; absent or empty when none. */
  readonly nodeLosses?: readonly NodeLoss[];
}

/**
 * The pods of a group whose node was deleted or is not Ready. The pod objects keep saying Ready until
 * the node lifecycle controller and pod GC catch up (about a minute); the node says it at once.
 */
export function nodeLosses(
  pods: readonly V1Pod[],
  nodeReady: (name: string) => boolean | undefined,
): NodeLoss[] {
  const losses: NodeLoss[] = [];
  for (const p of pods) {
    const node = p.spec?.nodeName;
    if (!node || isTerminating(p)) continue;
    const ready = nodeReady(node);
    if (ready === undefined) losses.push({ pod: p.metadata?.name ?? '', node, why: 'deleted' });
    else if (!ready) losses.push({ pod: p.metadata?.name ?? '', node, why: 'NotReady' });
  }
  return losses;
}

export function describeNodeLosses(losses: readonly NodeLoss[]): string {
  return losses
    .map((l) => `node ${l.node} of pod ${l.pod} ${l.why === 'deleted' ? 'was deleted' : 'is NotReady'}`)
    .join('; ');
}

/** A pod that serves: Ready, and on a node that still exists and is Ready. */
export function isPodServing(pod: V1Pod, losses: readonly NodeLoss[] | undefined): boolean {
  return isPodReady(pod) && !(losses ?? []).some((l) => l.pod === pod.metadata?.name);
}

export function formatPodRefs(refs: readonly PodRef[]): string {
  return refs.map((r) => `${r.name}=${r.uid}`).join(',');
}

export function parsePodRefs(value: string | undefined): PodRef[] {
  if (!value) return [];
  return value
    .split(',')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? { name: '', uid: pair } : { name: pair.slice(0, eq), uid: pair.slice(eq + 1) };
    })
    .filter((r) => r.uid !== '');
}

export function readBookkeeping(sts: V1StatefulSet): GroupBookkeeping {
  const a = sts.metadata?.annotations ?? {};
  const restarts = Number.parseInt(a[OPERATOR_ANNOTATIONS.restarts] ?? '0', 10);
  return {
    members: parsePodRefs(a[OPERATOR_ANNOTATIONS.members]),
    recreating: parsePodRefs(a[OPERATOR_ANNOTATIONS.recreating]),
    restarts: Number.isFinite(restarts) && restarts > 0 ? restarts : 0,
    recreatedAt: a[OPERATOR_ANNOTATIONS.recreatedAt],
    restartsToken: a[OPERATOR_ANNOTATIONS.restartsToken] ?? '',
  };
}

export function podRef(pod: V1Pod): PodRef {
  return { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
}

export function isTerminating(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
}

export function isPodReady(pod: V1Pod): boolean {
  if (isTerminating(pod)) return false;
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function podRevision(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.[LABELS.revision];
}

export function containerRestarts(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

/**
 * Why the group lost a rank, or undefined when it did not: a pod failed or was evicted, a container
 * restarted, or — once the group was complete — a recorded member is being deleted or is gone (replaced
 * by the StatefulSet under the same name, with a new UID).
 */
export function groupFailure(pods: readonly V1Pod[], book: GroupBookkeeping): string | undefined {
  for (const p of pods) {
    const name = p.metadata?.name ?? '';
    if (p.status?.phase === 'Failed') {
      return `pod ${name} failed${p.status.reason ? ` (${p.status.reason})` : ''}`;
    }
    if (containerRestarts(p) > 0) return `a container of pod ${name} restarted`;
  }
  if (book.members.length === 0) return undefined;
  const memberUids = new Set(book.members.map((m) => m.uid));
  for (const p of pods) {
    if (isTerminating(p) && memberUids.has(p.metadata?.uid ?? '')) {
      return `pod ${p.metadata?.name ?? ''} is being deleted`;
    }
  }
  const present = new Set(pods.map((p) => p.metadata?.uid ?? ''));
  const gone = book.members.find((m) => !present.has(m.uid));
  return gone ? `pod ${gone.name} was deleted or replaced` : undefined;
}

/**
 * All pods of the group exist on the StatefulSet's revision, none is terminating and none is still
 * Pending: the group has started, so from now on losing any of its pods means losing a rank.
 */
export function isComplete(pods: readonly V1Pod[], desiredPods: number, revision: string): boolean {
  const live = pods.filter((p) => !isTerminating(p));
  return (
    live.length === desiredPods &&
    live.every(
      (p) => podRevision(p) === revision && p.status?.phase === 'Running' && Boolean(p.spec?.nodeName),
    )
  );
}
