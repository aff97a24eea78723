import {
  CONDITION_REASONS,
  CONDITION_TYPES,
  type PlanStatus,
  type PoolStatus,
} from '../../shared/api/v1alpha1/index.js';
import { type Plan, planShortString } from '../../shared/plan/index.js';
import type {
  GroupDecision,
  PlacementDecision,
  PlacementState,
  PoolView,
} from '../controller/placement-decision.js';
import { groupName } from '../render/names.js';
import type { ConditionInput } from './conditions.js';

export function planStatus(plan: Plan): PlanStatus {
  return {
    summary: planShortString(plan.degrees),
    degrees: { ...plan.degrees },
    gpusPerGroup: plan.gpusPerGroup,
    podsPerGroup: plan.podsPerGroup,
    gpusPerPod: plan.gpusPerPod,
    pipeline: { patches: plan.pipeline.patches, warmupSteps: plan.pipeline.warmupSteps },
    // int64 in the schema; the planner's estimate is fractional bytes.
    predicted: { ...plan.predicted, memoryBytesPerGpu: Math.round(plan.predicted.memoryBytesPerGpu) },
    reason: plan.reason,
    ...(plan.pool ? { pool: plan.pool.name } : {}),
  };
}

/** `status.plan`: the best pool's plan, which pool that is, and why it won. */
export function primaryPlanStatus(decision: PlacementDecision): PlanStatus {
  return {
    ...planStatus(decision.primary.plan),
    pool: decision.primary.name,
    poolReason: decision.primary.why,
  };
}

function describePool(v: PoolView): string {
  const nodes = v.usableNodes === undefined ? 'no nodes yet' : `${v.usableNodes} node(s)`;
  return `${v.name} (${nodes}, ${v.gpusPerNode}× ${v.gpuProduct ?? 'unlabelled GPUs'})`;
}

/** `status.pools`: each pool the object could use, best first, with its plan, groups and room. */
export function poolStatuses(decision: PlacementDecision): PoolStatus[] {
  const ranked = new Map(decision.ranked.map((r, i) => [r.name, { r, i }]));
  return decision.pools.map((v): PoolStatus => {
    const plan = v.outcome && 'plan' in v.outcome ? v.outcome.plan : undefined;
    const rank = ranked.get(v.name);
    const message = v.excluded ?? rank?.r.why;
    return {
      name: v.name,
      ...(v.gpuProduct !== undefined ? { gpuProduct: v.gpuProduct } : {}),
      gpusPerNode: v.gpusPerNode,
      nodes: v.usableNodes ?? 0,
      ...(plan && v.excluded === undefined
        ? { plan: planShortString(plan.degrees), predictedSeconds: round(plan.predicted.totalSeconds) }
        : {}),
      groups: decision.groups.filter((g) => g.pool === v.name).length,
      groupsFit: v.excluded === undefined ? v.groupsFit : 0,
      ...(message !== undefined ? { message: message.slice(0, 2048) } : {}),
    };
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Group names for a message: all of them up to ten, then how many there are in all. */
function groupList(name: string, indexes: readonly number[]): string {
  const shown = indexes.slice(0, 10).map((i) => groupName(name, i));
  return indexes.length > shown.length
    ? `${shown.join(', ')} … (${indexes.length} in all)`
    : shown.join(', ');
}

/** Groups on another pool than the best one (by pool), and groups kept on a pool that changed under them. */
function groupNotes(name: string, decision: PlacementDecision): { overflow: string[]; kept: string[] } {
  const best = decision.primary.name;
  const elsewhere = new Map<string, { indexes: number[]; plan: Plan }>();
  const kept = new Map<string, number[]>();
  for (const g of decision.groups) {
    if (g.kind === 'placed' && g.pool !== best) {
      const entry = elsewhere.get(g.pool) ?? { indexes: [], plan: g.plan };
      entry.indexes.push(g.index);
      elsewhere.set(g.pool, entry);
    }
    if (g.kind === 'kept') {
      const why =
        g.because === 'poolGone'
          ? `pool ${g.pool} is gone (its nodes were removed or relabelled)`
          : `pool ${g.pool} changed and is planned differently now`;
      kept.set(why, [...(kept.get(why) ?? []), g.index]);
    }
  }
  return {
    overflow: [...elsewhere].map(
      ([pool, { indexes, plan }]) =>
        `${groupList(name, indexes)} ${indexes.length === 1 ? 'runs' : 'run'} on pool ${pool}, planned ${planShortString(plan.degrees)} for it (not on the best pool ${best}: that one was full, or ranked lower, when ${indexes.length === 1 ? 'the group was' : 'they were'} placed)`,
    ),
    kept: [...kept].map(
      ([why, indexes]) =>
        `${groupList(name, indexes)} ${indexes.length === 1 ? 'keeps the plan it was' : 'keep the plans they were'} made with: ${why}; bump spec.restartToken to re-plan`,
    ),
  };
}

export function overflowNote(name: string, g: GroupDecision & { kind: 'placed' }): string {
  return `${groupName(name, g.index)} runs on pool ${g.pool} because ${g.overflowFrom} had no room (placement.pool.overflow NextPool), planned ${planShortString(g.plan.degrees)} for it`;
}

/**
 * `TopologyResolved`, `Planned`, and `Stalled` when nothing can run: what the pools are, which won and
 * why, and what no pool can do.
 */
export function placementConditions(
  name: string,
  state: PlacementState,
): { updates: ConditionInput[]; stalled?: ConditionInput } {
  if ('decision' in state) {
    const d = state.decision;
    const usable = d.pools.filter((v) => v.excluded === undefined);
    const { overflow, kept } = groupNotes(name, d);
    const primary = d.primary;
    const plan = primary.plan;
    return {
      updates: [
        {
          type: CONDITION_TYPES.topologyResolved,
          status: 'True',
          reason: d.source === 'FromSpec' ? CONDITION_REASONS.fromSpec : CONDITION_REASONS.fromNodes,
          message:
            d.source === 'FromSpec'
              ? (d.pools[0]?.topology?.description ?? 'planning from spec.topology')
              : `${usable.length} GPU pool(s) can run it: ${usable.map(describePool).join(', ')}${
                  d.pools.length > usable.length
                    ? `; not: ${d.pools
                        .filter((v) => v.excluded !== undefined)
                        .map((v) => `${v.name} (${v.excluded})`)
                        .join(', ')}`
                    : ''
                }`,
        },
        {
          type: CONDITION_TYPES.planned,
          status: 'True',
          reason: kept.length > 0 ? CONDITION_REASONS.poolChanged : CONDITION_REASONS.planFound,
          message: [
            `pool ${primary.name} (${primary.why}): ${planShortString(plan.degrees)} on ${plan.gpusPerGroup} GPU(s) per group: ${plan.reason}`,
            ...overflow,
            ...kept,
          ].join('; '),
        },
      ],
    };
  }
  if ('rejected' in state) {
    const stalled: ConditionInput = { type: CONDITION_TYPES.stalled, status: 'True', ...state.rejected };
    return {
      updates: [{ type: CONDITION_TYPES.planned, status: 'False', ...state.rejected }],
      stalled,
    };
  }
  return {
    updates: [
      {
        type: CONDITION_TYPES.topologyResolved,
        status: 'False',
        reason: CONDITION_REASONS.topologyUnknown,
        message: state.unresolved,
      },
      {
        type: CONDITION_TYPES.planned,
        status: 'False',
        reason: CONDITION_REASONS.topologyUnknown,
        message: `cannot plan: ${state.unresolved}`,
      },
    ],
    stalled: {
      type: CONDITION_TYPES.stalled,
      status: 'True',
      reason: CONDITION_REASONS.topologyUnknown,
      message: state.unresolved,
    },
  };
}
