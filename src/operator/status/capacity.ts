import { CONDITION_REASONS, CONDITION_TYPES } from '../../shared/api/v1alpha1/index.js';
import type { PlacementDecision } from '../controller/placement-decision.js';
import { isTerminating, type ObservedGroup } from '../policy/group-observation.js';
import { commonestReason, unschedulableReason } from '../pools/pending.js';
import type { ConditionInput } from './conditions.js';

/** A group whose pods are not all on nodes yet. */
export interface PendingGroup {
  readonly index: number;
  readonly pool: string;
  /** The scheduler's reason for its unplaced pods; absent while it has not said (just created). */
  readonly reason?: string;
}

/** Whether the pools hold the desired groups, from the placement and the pods as they are. */
export interface CapacityAssessment {
  readonly desired: number;
  /** Groups with every pod bound to a node. */
  readonly scheduled: number;
  readonly pending: readonly PendingGroup[];
  /** Scheduled groups plus the pending ones their pool has room for now. */
  readonly fit: number;
  /** Groups per pool, for messages. */
  readonly byPool: ReadonlyMap<string, number>;
  /** The groups wait for nodes `spec.topology` describes (a node autoscaler scaling from zero). */
  readonly fromSpec: boolean;
}

export function assessCapacity(
  decision: PlacementDecision,
  groups: ReadonlyMap<number, ObservedGroup>,
): CapacityAssessment {
  const pending: PendingGroup[] = [];
  const byPool = new Map<string, number>();
  let scheduled = 0;
  for (const d of decision.groups) {
    byPool.set(d.pool, (byPool.get(d.pool) ?? 0) + 1);
    const g = groups.get(d.index);
    const pods = (g?.pods ?? []).filter((p) => !isTerminating(p));
    const wanted = g?.statefulSet.spec?.replicas ?? d.plan.podsPerGroup;
    if (g !== undefined && pods.length >= wanted && pods.every((p) => Boolean(p.spec?.nodeName))) {
      scheduled++;
      continue;
    }
    const reason = commonestReason(pods.flatMap((p) => unschedulableReason(p) ?? []));
    pending.push({ index: d.index, pool: d.pool, ...(reason !== undefined ? { reason } : {}) });
  }
  let fit = scheduled;
  const room = new Map(decision.pools.map((p) => [p.name, p.groupsFit]));
  for (const p of pending) {
    const left = room.get(p.pool) ?? 0;
    if (left > 0) {
      fit++;
      room.set(p.pool, left - 1);
    }
  }
  return {
    desired: decision.groups.length,
    scheduled,
    pending,
    fit,
    byPool,
    fromSpec: decision.source === 'FromSpec',
  };
}

function perPool(byPool: ReadonlyMap<string, number>): string {
  return [...byPool].map(([pool, n]) => `${n} on pool ${pool}`).join(', ');
}

/**
 * `CapacityAvailable`: True while every group is scheduled (or being scheduled with room for it);
 * False with the scheduler's own reason when groups wait — `WaitingForNodes` for nodes that do not
 * exist yet (scale from zero), `InsufficientCapacity` when the pools have no room for them (with how
 * many fit), `Unschedulable` when they would fit but something else keeps them off.
 */
export function capacityCondition(c: CapacityAssessment): ConditionInput {
  const waiting = c.pending.filter((p) => p.reason !== undefined);
  const why = commonestReason(waiting.map((p) => p.reason as string));
  const base = { type: CONDITION_TYPES.capacityAvailable };
  if (why === undefined) {
    const placed = c.byPool.size > 0 ? ` (${perPool(c.byPool)})` : '';
    return {
      ...base,
      status: 'True',
      reason: CONDITION_REASONS.groupsScheduled,
      message:
        c.pending.length === 0
          ? `all ${c.desired} group(s) scheduled${placed}`
          : `${c.scheduled} of ${c.desired} group(s) scheduled, ${c.pending.length} being scheduled${placed}`,
    };
  }
  const pendingText = `${c.pending.length} of ${c.desired} group(s) pending, the scheduler says: ${why}`;
  if (c.fromSpec) {
    return {
      ...base,
      status: 'False',
      reason: CONDITION_REASONS.waitingForNodes,
      message: `${pendingText} (waiting for a node autoscaler to add the nodes spec.topology describes)`,
    };
  }
  if (c.fit < c.desired) {
    return {
      ...base,
      status: 'False',
      reason: CONDITION_REASONS.insufficientCapacity,
      message: `${c.fit} of ${c.desired} group(s) fit in the GPU pools (${perPool(c.byPool)}); ${pendingText}`,
    };
  }
  return { ...base, status: 'False', reason: CONDITION_REASONS.unschedulable, message: pendingText };
}
