import {
  CONDITION_REASONS,
  CONDITION_TYPES,
  type Condition,
  type DiTInference,
  type DiTInferenceStatus,
  type GroupStatus,
  leaderSelector,
} from '../../shared/api/v1alpha1/index.js';
import type { PlacementState } from '../controller/placement-decision.js';
import { type CapacityAssessment, capacityCondition } from './capacity.js';
import { type ConditionInput, mergeConditions } from './conditions.js';
import { placementConditions, poolStatuses, primaryPlanStatus } from './placement.js';

export interface StatusInputs {
  readonly inference: DiTInference;
  /** The pools, their plans and where each group runs; or why nothing can run. */
  readonly placement: PlacementState;
  /** Whether the pools hold the groups; absent when nothing was placed. */
  readonly capacity?: CapacityAssessment | undefined;
  /** One entry per existing group, by index. */
  readonly groups: readonly GroupStatus[];
  /** Groups whose StatefulSet does not carry the desired revision yet. */
  readonly outdatedGroups: number;
  /** Set when a group used up its restart limit: the reason. */
  readonly gaveUp: string | undefined;
  /** Set when applying a child failed this round (retried with back-off). */
  readonly applyError: string | undefined;
  /** Set when the API server refused a child as invalid: only a spec change helps. */
  readonly refusedChild?: string | undefined;
  readonly now: Date;
}

/**
 * The whole status, computed once per reconcile from what was observed and decided. `Reconciling` and
 * `Stalled` are present only while true (kstatus' abnormal-true polarity); `Ready` is always present.
 */
export function computeStatus(inputs: StatusInputs): DiTInferenceStatus {
  const { inference: inf, placement, groups, now } = inputs;
  const previous = inf.status ?? {};
  const desired = inf.spec.replicas;
  const generation = inf.metadata.generation;
  const ready = groups.filter((g) => g.index < desired && g.phase === 'Ready').length;
  const recreating = groups.some((g) => g.phase === 'Recreating');
  const readyText = groupsReadyText(ready, desired, groups);
  const updates: ConditionInput[] = [];
  let stalled: ConditionInput | undefined;
  let reconciling: ConditionInput | undefined;

  const placed = placementConditions(inf.metadata.name ?? '', placement);
  updates.push(...placed.updates);
  stalled = placed.stalled;
  // After the plan's own reasons: a child the API server refused, then a group past its restart limit.
  for (const [reason, message] of [
    [CONDITION_REASONS.invalidSpec, inputs.refusedChild],
    [CONDITION_REASONS.restartLimitExceeded, inputs.gaveUp],
  ] as const) {
    if (message !== undefined && !stalled)
      stalled = { type: CONDITION_TYPES.stalled, status: 'True', reason, message };
  }

  const capacity = inputs.capacity ? capacityCondition(inputs.capacity) : undefined;
  if (capacity) updates.push(capacity);
  const short = capacity?.status === 'False' ? capacity : undefined;

  const allReady = ready === desired && inputs.outdatedGroups === 0 && groups.length === desired;
  updates.push({
    type: CONDITION_TYPES.groupsReady,
    status: allReady ? 'True' : 'False',
    reason: allReady ? CONDITION_REASONS.allGroupsReady : CONDITION_REASONS.groupsNotReady,
    message: readyText,
  });

  if (inputs.applyError !== undefined) {
    reconciling = {
      type: CONDITION_TYPES.reconciling,
      status: 'True',
      reason: CONDITION_REASONS.applyFailed,
      message: inputs.applyError,
    };
  } else if (recreating) {
    reconciling = {
      type: CONDITION_TYPES.reconciling,
      status: 'True',
      reason: CONDITION_REASONS.recreatingGroup,
      message: `recreating ${groups
        .filter((g) => g.phase === 'Recreating')
        .map((g) => g.name)
        .join(', ')} after a failure`,
    };
  } else if (!stalled && !allReady) {
    reconciling = {
      type: CONDITION_TYPES.reconciling,
      status: 'True',
      reason: CONDITION_REASONS.progressing,
      // Waiting for capacity (a node autoscaler, a freed pool) is progress, not a stall: say what for.
      message:
        inputs.outdatedGroups > 0
          ? `rolling ${inputs.outdatedGroups} group(s) to the new revision, one at a time`
          : short
            ? `${readyText}; ${short.message}`
            : readyText,
    };
  }

  const readyCondition: ConditionInput =
    desired === 0 && !stalled
      ? {
          // Zero groups, as asked: reconciled. True keeps kstatus (Flux, kubectl wait) from waiting forever
          // on an object an autoscaler scaled to zero; the reason tells it apart from serving.
          type: CONDITION_TYPES.ready,
          status: 'True',
          reason: CONDITION_REASONS.scaledToZero,
          message: 'spec.replicas is 0: no group runs',
        }
      : allReady && !stalled
        ? {
            type: CONDITION_TYPES.ready,
            status: 'True',
            reason: CONDITION_REASONS.allGroupsReady,
            message: `${ready}/${desired} groups ready`,
          }
        : {
            type: CONDITION_TYPES.ready,
            status: 'False',
            reason: stalled?.reason ?? short?.reason ?? CONDITION_REASONS.groupsNotReady,
            message: stalled?.message ?? (short ? `${readyText}; ${short.message}` : readyText),
          };
  updates.push(readyCondition);
  if (stalled) updates.push(stalled);
  if (reconciling) updates.push(reconciling);

  const dropped = new Set<string>();
  if (!stalled) dropped.add(CONDITION_TYPES.stalled);
  if (!reconciling) dropped.add(CONDITION_TYPES.reconciling);
  const conditions: Condition[] = mergeConditions(
    (previous.conditions ?? []).filter((c) => !dropped.has(c.type)),
    updates,
    generation,
    now,
  );

  const decision = 'decision' in placement ? placement.decision : undefined;
  const plan = decision ? primaryPlanStatus(decision) : previous.plan;
  const pools = decision ? poolStatuses(decision) : previous.pools;
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    ...(plan ? { plan } : {}),
    ...(pools ? { pools } : {}),
    groups: [...groups].sort((a, b) => a.index - b.index),
    replicas: groups.length,
    readyReplicas: ready,
    groupsReady: `${ready}/${desired}`,
    selector: leaderSelector(inf.metadata.name ?? ''),
  };
}

/** `ready/desired groups ready`, then what is known about each group that is not (a lost node, ...). */
function groupsReadyText(ready: number, desired: number, groups: readonly GroupStatus[]): string {
  const details = groups
    .filter((g) => g.index < desired && g.phase !== 'Ready' && g.message !== undefined)
    .map((g) => `${g.name}: ${g.message}`);
  return [`${ready}/${desired} groups ready`, ...details].join('; ');
}
