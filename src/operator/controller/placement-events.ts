import {
  CONDITION_REASONS,
  CONDITION_TYPES,
  type Condition,
  type DiTInference,
  LABELS,
} from '../../shared/api/v1alpha1/index.js';
import { planShortString } from '../../shared/plan/index.js';
import { EVENT_REASONS, type PendingEvent } from '../events/recorder.js';
import { planKey } from '../render/names.js';
import { overflowNote } from '../status/placement.js';
import type { Children } from './children.js';
import type { PlacementDecision } from './placement-decision.js';

/**
 * Events for what the placement decided this round: `PlanChosen` for each plan groups start to run
 * (naming its pool and why that pool), `PoolOverflow` for each group that goes (new, or moved while it
 * held nothing) to another pool than the best because the best is full.
 */
export function placementEvents(
  inf: DiTInference,
  decision: PlacementDecision,
  children: Children,
): PendingEvent[] {
  const events: PendingEvent[] = [];
  const recorded = (hash: string) => children.planConfigMap?.data?.[planKey(hash)] !== undefined;
  const announced = new Set<string>();
  for (const g of decision.groups) {
    if (g.kind !== 'placed' || recorded(g.planHash) || announced.has(g.planHash)) continue;
    announced.add(g.planHash);
    const why = decision.ranked.find((r) => r.name === g.pool)?.why ?? '';
    const { plan } = g;
    events.push({
      type: 'Normal',
      reason: EVENT_REASONS.planChosen,
      message: `pool ${g.pool} (${why}): ${planShortString(plan.degrees)}: ${plan.podsPerGroup} pod(s) × ${plan.gpusPerPod} GPU(s) per group. ${plan.reason}`,
    });
  }
  const name = inf.metadata.name ?? '';
  for (const g of decision.groups) {
    if (g.kind !== 'placed' || g.overflowFrom === undefined) continue;
    // New, or moved here from the full pool: once, when the group arrives on its pool.
    const from = children.groups.get(g.index)?.statefulSet.metadata?.labels?.[LABELS.pool];
    if (from !== g.pool) {
      events.push({ type: 'Normal', reason: EVENT_REASONS.poolOverflow, message: overflowNote(name, g) });
    }
  }
  return events;
}

function find(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Events for conditions that just turned bad: `CapacityAvailable` turning False (the event's reason is
 * the condition's: `InsufficientCapacity`, `WaitingForNodes` or `Unschedulable`) and `Planned` turning
 * `PoolChanged`. Once per transition, not per reconcile.
 */
export function conditionEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): PendingEvent[] {
  const events: PendingEvent[] = [];
  const capBefore = find(before, CONDITION_TYPES.capacityAvailable);
  const capAfter = find(after, CONDITION_TYPES.capacityAvailable);
  if (
    capAfter?.status === 'False' &&
    (capBefore?.status !== 'False' || capBefore.reason !== capAfter.reason)
  ) {
    events.push({ type: 'Warning', reason: capAfter.reason, message: capAfter.message });
  }
  const planBefore = find(before, CONDITION_TYPES.planned);
  const planAfter = find(after, CONDITION_TYPES.planned);
  if (
    planAfter?.reason === CONDITION_REASONS.poolChanged &&
    planBefore?.reason !== CONDITION_REASONS.poolChanged
  ) {
    events.push({ type: 'Warning', reason: EVENT_REASONS.poolChanged, message: planAfter.message });
  }
  return events;
}
