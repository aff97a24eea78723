import { CONDITION_TYPES, type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import type { Logger } from '../../shared/log.js';
import { POD_INDEX_LABEL } from '../../shared/runtime-contract.js';
import type { Applier } from '../apply/applier.js';
import { EVENT_REASONS, type PendingEvent } from '../events/recorder.js';
import { RESOURCES } from '../kube/resources.js';
import type { OperatorMetrics } from '../metrics/operator-metrics.js';
import { decideGroupAction, effectiveRestarts, type GroupAction } from '../policy/failure-policy.js';
import {
  formatPodRefs,
  type ObservedGroup,
  type PodRef,
  podRef,
  podRevision,
  readBookkeeping,
} from '../policy/group-observation.js';
import { OPERATOR_ANNOTATIONS } from '../render/keys.js';
import type { RenderedGroup } from '../render/statefulset.js';
import { isTrue } from '../status/conditions.js';
import { revisionOf } from '../status/group-status.js';

/**
 * The writes that act on one existing group: rolling it to a new revision, carrying out what the
 * failure policy decided, and labelling its pods' roles. Decisions are made by the pure policy
 * functions; this class only performs them, bookkeeping first so an interrupted run is finished by the
 * next.
 */
export class GroupActions {
  constructor(
    private readonly applier: Applier,
    private readonly metrics: OperatorMetrics,
    private readonly now: () => Date,
  ) {}

  /**
   * Moves a group to the new revision: apply the new StatefulSet, then replace all its pods together
   * (OnDelete strategy), because ranks of two templates cannot form one group.
   */
  async roll(g: ObservedGroup, d: RenderedGroup, events: PendingEvent[], log: Logger): Promise<void> {
    const at = groupAt(g);
    await this.applier.apply(RESOURCES.statefulSet, d.statefulSet);
    const old = g.pods.filter((p) => podRevision(p) !== d.revision).map(podRef);
    await this.applier.annotate(RESOURCES.statefulSet, at, {
      [OPERATOR_ANNOTATIONS.recreating]: old.length > 0 ? formatPodRefs(old) : null,
      [OPERATOR_ANNOTATIONS.members]: null,
    });
    await this.deletePods(at.namespace, old);
    log.info({ group: at.name, revision: d.revision }, 'Rolling group to new revision');
    events.push({
      type: 'Normal',
      reason: EVENT_REASONS.groupRolled,
      message: `rolling ${at.name} to revision ${d.revision}`,
    });
  }

  /** Decides the failure policy's next step for the group and performs it. */
  async applyFailurePolicy(
    inf: DiTInference,
    g: ObservedGroup,
    events: PendingEvent[],
    log: Logger,
  ): Promise<GroupAction> {
    const at = groupAt(g);
    const book = readBookkeeping(g.statefulSet);
    const restartToken = inf.spec.restartToken ?? '';
    const action = decideGroupAction({
      group: g,
      book,
      policy: inf.spec.failurePolicy,
      restartToken,
      revision: revisionOf(g.statefulSet) ?? '',
      desiredPods: g.statefulSet.spec?.replicas ?? 0,
      now: this.now().getTime(),
    });
    switch (action.type) {
      case 'finishReplacing':
        await this.deletePods(at.namespace, action.toDelete);
        if (action.cleared) {
          await this.applier.annotate(RESOURCES.statefulSet, at, { [OPERATOR_ANNOTATIONS.recreating]: null });
        }
        break;
      case 'recordMembers':
        await this.applier.annotate(RESOURCES.statefulSet, at, {
          [OPERATOR_ANNOTATIONS.members]: formatPodRefs(action.members),
          [OPERATOR_ANNOTATIONS.restarts]: String(effectiveRestarts(book, restartToken)),
          [OPERATOR_ANNOTATIONS.restartsToken]: restartToken,
        });
        break;
      case 'recreate':
        // Record first, then delete: if the operator dies in between, the next run finishes the deletion.
        await this.applier.annotate(RESOURCES.statefulSet, at, {
          [OPERATOR_ANNOTATIONS.recreating]: formatPodRefs(action.pods),
          [OPERATOR_ANNOTATIONS.members]: null,
          [OPERATOR_ANNOTATIONS.restarts]: String(action.restarts),
          [OPERATOR_ANNOTATIONS.restartsToken]: restartToken,
          [OPERATOR_ANNOTATIONS.recreatedAt]: this.now().toISOString(),
        });
        await this.deletePods(at.namespace, action.pods);
        this.metrics.groupRecreations.inc();
        log.warn({ group: at.name, reason: action.reason, restarts: action.restarts }, 'Recreated group');
        events.push({
          type: 'Warning',
          reason: EVENT_REASONS.groupRecreated,
          message: `recreated all pods of ${at.name} (restart ${action.restarts}): ${action.reason}`,
        });
        break;
      case 'giveUp':
        if (!isTrue(inf.status?.conditions, CONDITION_TYPES.stalled)) {
          events.push({
            type: 'Warning',
            reason: EVENT_REASONS.restartLimitExceeded,
            message: `${at.name}: ${action.reason}`,
          });
        }
        break;
      case 'waitBackoff':
      case 'none':
        break;
    }
    return action;
  }

  /** `tessera.dev/role`: leader on pod 0 (rank 0, serves HTTP), worker on the others; HPA selects leaders. */
  async labelRoles(g: ObservedGroup, log: Logger): Promise<void> {
    for (const pod of g.pods) {
      const index = pod.metadata?.labels?.[POD_INDEX_LABEL];
      if (index === undefined) continue;
      const role = index === '0' ? 'leader' : 'worker';
      if (pod.metadata?.labels?.[LABELS.role] === role) continue;
      try {
        await this.applier.label(
          RESOURCES.pod,
          { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '' },
          { [LABELS.role]: role },
        );
      } catch (err) {
        // The pod may be gone already; the next reconcile labels its replacement.
        log.debug({ err, pod: pod.metadata?.name }, 'Labelling pod role failed');
      }
    }
  }

  /** UID-preconditioned, so a pod the StatefulSet already replaced under the same name is spared. */
  private async deletePods(namespace: string, pods: readonly PodRef[]): Promise<void> {
    await Promise.all(
      pods.map((p) => this.applier.delete(RESOURCES.pod, { namespace, name: p.name }, { uid: p.uid })),
    );
  }
}

function groupAt(g: ObservedGroup): { namespace: string; name: string } {
  return { namespace: g.statefulSet.metadata?.namespace ?? '', name: g.statefulSet.metadata?.name ?? '' };
}
