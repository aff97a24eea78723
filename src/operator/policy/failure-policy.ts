import type { FailurePolicySpec } from '../../shared/api/v1alpha1/index.js';
import {
  type GroupBookkeeping,
  groupFailure,
  isComplete,
  isTerminating,
  type ObservedGroup,
  type PodRef,
  podRef,
} from './group-observation.js';

/**
 * What the operator does next for one group. Decided from observed state only (level-triggered), so a
 * restarted operator picks up where the last one stopped:
 *
 * - `finishReplacing`: pods marked for replacement are still there → delete them (UID-preconditioned);
 *   once all are gone the mark is cleared and the group re-forms.
 * - `recordMembers`: the group is complete and healthy → remember its pod UIDs, so a later deletion is
 *   noticed even after the StatefulSet replaced the pod under the same name.
 * - `recreate`: a rank was lost and the back-off has passed → mark all pods for replacement, count it.
 * - `waitBackoff`: a rank was lost, the back-off has not passed → look again after `retryInMs`.
 * - `giveUp`: a rank was lost and the group used up `restartLimit` → `Stalled`, leave it alone.
 */
export type GroupAction =
  | { readonly type: 'none' }
  | { readonly type: 'finishReplacing'; readonly toDelete: readonly PodRef[]; readonly cleared: boolean }
  | { readonly type: 'recordMembers'; readonly members: readonly PodRef[] }
  | {
      readonly type: 'recreate';
      readonly reason: string;
      readonly pods: readonly PodRef[];
      readonly restarts: number;
    }
  | {
      readonly type: 'waitBackoff';
      readonly reason: string;
      readonly retryInMs: number;
      readonly restarts: number;
    }
  | { readonly type: 'giveUp'; readonly reason: string; readonly restarts: number };

export interface GroupPolicyInputs {
  readonly group: ObservedGroup;
  readonly book: GroupBookkeeping;
  readonly policy: FailurePolicySpec;
  readonly restartToken: string;
  /** The revision the group's StatefulSet carries now. */
  readonly revision: string;
  readonly desiredPods: number;
  readonly now: number;
}

/** Restarts counted against the limit: a new `spec.restartToken` starts the count again. */
export function effectiveRestarts(book: GroupBookkeeping, restartToken: string): number {
  return book.restartsToken === restartToken ? book.restarts : 0;
}

/**
 * Delay before recreation number `restarts + 1`: `backoffSeconds · 2^restarts`, at most
 * `maxBackoffSeconds`, counted from the group's last (re)creation.
 */
export function backoffMs(policy: FailurePolicySpec, restarts: number): number {
  const seconds = Math.min(policy.maxBackoffSeconds, policy.backoffSeconds * 2 ** Math.min(restarts, 30));
  return seconds * 1000;
}

export function decideGroupAction(inputs: GroupPolicyInputs): GroupAction {
  const { group, book, policy, now } = inputs;
  if (book.recreating.length > 0) {
    const marked = new Set(book.recreating.map((r) => r.uid));
    const remaining = group.pods.filter((p) => marked.has(p.metadata?.uid ?? ''));
    return {
      type: 'finishReplacing',
      toDelete: remaining.filter((p) => !isTerminating(p)).map(podRef),
      cleared: remaining.length === 0,
    };
  }
  const restarts = effectiveRestarts(book, inputs.restartToken);
  if (policy.type === 'RecreateGroup') {
    const reason = groupFailure(group.pods, book);
    if (reason !== undefined) {
      if (policy.restartLimit > 0 && restarts >= policy.restartLimit) {
        return {
          type: 'giveUp',
          reason: `${reason}; the group was recreated ${restarts} times, which is spec.failurePolicy.restartLimit`,
          restarts,
        };
      }
      const since = Date.parse(
        book.recreatedAt ?? String(group.statefulSet.metadata?.creationTimestamp ?? ''),
      );
      const due = (Number.isFinite(since) ? since : now) + backoffMs(policy, restarts);
      if (now < due) return { type: 'waitBackoff', reason, retryInMs: due - now, restarts };
      return { type: 'recreate', reason, pods: group.pods.map(podRef), restarts: restarts + 1 };
    }
  }
  if (book.members.length === 0 && isComplete(group.pods, inputs.desiredPods, inputs.revision)) {
    return { type: 'recordMembers', members: group.pods.map(podRef) };
  }
  return { type: 'none' };
}
