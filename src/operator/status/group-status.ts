import type { V1StatefulSet } from '@kubernetes/client-node';
import { type DiTInference, type GroupStatus, LABELS } from '../../shared/api/v1alpha1/index.js';
import { effectiveRestarts, type GroupAction } from '../policy/failure-policy.js';
import {
  describeNodeLosses,
  isPodReady,
  isPodServing,
  type ObservedGroup,
  podRevision,
  readBookkeeping,
} from '../policy/group-observation.js';

/** The template revision a group's StatefulSet carries. */
export function revisionOf(sts: V1StatefulSet): string | undefined {
  return sts.metadata?.labels?.[LABELS.revision];
}

/** All pods of the group exist on the StatefulSet's revision, are Ready, and their nodes are too. */
export function groupAvailable(g: ObservedGroup): boolean {
  const desired = g.statefulSet.spec?.replicas ?? 0;
  const revision = revisionOf(g.statefulSet);
  const ready = g.pods.filter((p) => isPodServing(p, g.nodeLosses) && podRevision(p) === revision);
  return desired > 0 && ready.length === desired;
}

/**
 * The phase shown in `status.groups[]`: `Failed` past the restart limit, `Recreating` while a failure
 * is being handled, `Degraded` when a node under one of its pods was deleted or is not Ready, `Ready`
 * when every pod of the desired revision is Ready, `Pending` while pods are missing or unscheduled,
 * `Starting` otherwise (scheduled, loading, warming up).
 */
export function groupPhase(
  g: ObservedGroup,
  action: GroupAction,
  revision: string,
  desiredPods: number,
  desiredRevision: string,
): GroupStatus['phase'] {
  if (action.type === 'giveUp') return 'Failed';
  if (action.type === 'recreate' || action.type === 'waitBackoff') return 'Recreating';
  if (action.type === 'finishReplacing' && !action.cleared) return 'Recreating';
  if ((g.nodeLosses ?? []).length > 0) return 'Degraded';
  const current = g.pods.filter((p) => podRevision(p) === revision);
  if (revision === desiredRevision && current.length === desiredPods && current.every(isPodReady))
    return 'Ready';
  if (current.length < desiredPods || current.some((p) => !p.spec?.nodeName)) return 'Pending';
  return 'Starting';
}

/** Status of an existing group after the failure policy decided `action` for it. */
export function decidedGroupStatus(
  inf: DiTInference,
  g: ObservedGroup,
  action: GroupAction,
  desiredRevision: string,
): GroupStatus {
  const revision = revisionOf(g.statefulSet) ?? '';
  const desiredPods = g.statefulSet.spec?.replicas ?? 0;
  const restarts =
    action.type === 'recreate' || action.type === 'waitBackoff' || action.type === 'giveUp'
      ? action.restarts
      : effectiveRestarts(readBookkeeping(g.statefulSet), inf.spec.restartToken ?? '');
  const losses = g.nodeLosses ?? [];
  return {
    name: g.statefulSet.metadata?.name ?? '',
    index: g.index,
    readyPods: g.pods.filter((p) => isPodServing(p, losses)).length,
    desiredPods,
    restarts,
    phase: groupPhase(g, action, revision, desiredPods, desiredRevision),
    revision,
    ...(losses.length > 0 ? { message: describeNodeLosses(losses) } : {}),
  };
}

/** Status of a group from observation alone (nothing decided, e.g. while the spec is rejected). */
export function observedGroupStatus(inf: DiTInference, g: ObservedGroup): GroupStatus {
  return decidedGroupStatus(inf, g, { type: 'none' }, revisionOf(g.statefulSet) ?? '');
}

/** Status of a group that was just moved to `revision`: its pods are being replaced. */
export function rolledGroupStatus(g: ObservedGroup, revision: string, desiredPods: number): GroupStatus {
  return {
    name: g.statefulSet.metadata?.name ?? '',
    index: g.index,
    readyPods: 0,
    desiredPods,
    restarts: readBookkeeping(g.statefulSet).restarts,
    phase: 'Starting',
    revision,
  };
}

/** Status of a group whose StatefulSet was just created. */
export function newGroupStatus(
  name: string,
  index: number,
  revision: string,
  desiredPods: number,
): GroupStatus {
  return { name, index, readyPods: 0, desiredPods, restarts: 0, phase: 'Pending', revision };
}
