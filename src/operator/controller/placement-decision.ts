import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  CONDITION_REASONS,
  type DiTInference,
  LABELS,
  type Toleration,
} from '../../shared/api/v1alpha1/index.js';
import { PLAN_CONFIGMAP_KEY, PLAN_SCHEMA_VERSION, type Plan } from '../../shared/plan/index.js';
import { type PoolPlanOutcome, planForPool } from '../planning/pool-plan.js';
import { type ExistingGroup, homePool, type KeptBecause, placeGroups } from '../pools/assign.js';
import { freeGpus, groupsThatFit } from '../pools/capacity.js';
import { discoverPools, type GpuPool } from '../pools/pool.js';
import { type RankedPool, rankPools } from '../pools/rank.js';
import { stableHash } from '../render/hash.js';
import { OPERATOR_ANNOTATIONS } from '../render/keys.js';
import { planKey } from '../render/names.js';
import { groupAvailable } from '../status/group-status.js';
import { nodeAffinityAllows, podCouldLandOn } from '../topology/node-match.js';
import {
  GPU_RESOURCE,
  poolTopology,
  type ResolvedTopology,
  SPEC_POOL_NAME,
  specTopology,
} from '../topology/resolve.js';
import type { Children } from './children.js';

/**
 * Hash of the spec fields a plan is made from. `restartToken` is among them, so bumping it is also the
 * way to re-plan on a changed cluster.
 */
export function planInputsHash(inf: DiTInference): string {
  const { model, request, parallelism, topology, restartToken } = inf.spec;
  return stableHash({
    model,
    request,
    parallelism,
    topology: topology ?? null,
    restartToken: restartToken ?? '',
  });
}

function parsePlan(text: string | undefined): Plan | undefined {
  if (!text) return undefined;
  try {
    const p = JSON.parse(text) as Plan;
    return p.schemaVersion === PLAN_SCHEMA_VERSION ? p : undefined;
  } catch {
    return undefined;
  }
}

/** The plan the ConfigMap currently names as `plan.json`, if any. */
export function currentRecordedPlan(configMap: V1ConfigMap | undefined): Plan | undefined {
  return parsePlan(configMap?.data?.[PLAN_CONFIGMAP_KEY]);
}

/** The plan a group runs, read back from its ConfigMap key. */
export function recordedPlan(configMap: V1ConfigMap | undefined, hash: string): Plan | undefined {
  return parsePlan(configMap?.data?.[planKey(hash)]);
}

export function planHash(plan: Plan): string {
  return stableHash(plan);
}

/** The plan recorded for each pool under the current spec inputs (the ConfigMap's pool-plans index). */
export function recordedPoolPlans(configMap: V1ConfigMap | undefined, inputsHash: string): Map<string, Plan> {
  const plans = new Map<string, Plan>();
  const annotations = configMap?.metadata?.annotations ?? {};
  if (annotations[OPERATOR_ANNOTATIONS.planInputsHash] !== inputsHash) return plans;
  let index: Record<string, string> = {};
  try {
    index = JSON.parse(annotations[OPERATOR_ANNOTATIONS.poolPlans] ?? '{}') as Record<string, string>;
  } catch {
    return plans;
  }
  for (const [pool, hash] of Object.entries(index)) {
    const plan = recordedPlan(configMap, hash);
    if (plan) plans.set(pool, plan);
  }
  return plans;
}

/** One GPU pool as this object sees it. */
export interface PoolView {
  readonly name: string;
  readonly gpuProduct?: string;
  readonly gpusPerNode: number;
  /** Labels the pods of its groups are pinned to; none for the spec pool, whose nodes do not exist yet. */
  readonly selector: Readonly<Record<string, string>>;
  /** Nodes of it this object's pods could use; undefined for the spec pool. */
  readonly usableNodes?: number;
  readonly topology?: ResolvedTopology;
  readonly outcome?: PoolPlanOutcome;
  /** Further groups of its plan that fit in its free GPUs now. */
  readonly groupsFit: number;
  /** Why this object cannot use it: the policy, `spec.topology`, or the planner's rejection. */
  readonly excluded?: string;
}

/** Where one group runs and on which plan. */
export type GroupDecision =
  | {
      readonly index: number;
      readonly kind: 'placed';
      readonly pool: string;
      readonly selector: Readonly<Record<string, string>>;
      readonly plan: Plan;
      readonly planHash: string;
      /** Set when the group went to this pool because `overflowFrom` (the better one) had no room. */
      readonly overflowFrom?: string;
    }
  | {
      readonly index: number;
      readonly kind: 'kept';
      readonly pool: string;
      readonly because: KeptBecause;
      readonly plan: Plan;
      readonly planHash: string;
    };

export interface PlacementDecision {
  readonly inputsHash: string;
  /** `FromSpec` when no node can host a group yet and `spec.topology` was planned for. */
  readonly source: 'FromNodes' | 'FromSpec';
  /** The pools the object could use: ranked ones best first, then the excluded ones. */
  readonly pools: readonly PoolView[];
  /**
   * The object's pool: the best one, or — without overflow, once its groups run on a pool that another
   * now outranks — the one they run on. `status.plan` and `plan.json` carry its plan; new groups go there.
   */
  readonly primary: RankedPool;
  readonly ranked: readonly RankedPool[];
  readonly groups: readonly GroupDecision[];
  /** The current plan (hash) of each pool a placed group runs on, for the ConfigMap's index. */
  readonly poolPlans: ReadonlyMap<string, string>;
  /** Every plan a desired group runs, by hash. */
  readonly plans: ReadonlyMap<string, Plan>;
}

export type PlacementState =
  | { readonly decision: PlacementDecision }
  | { readonly rejected: { readonly reason: string; readonly message: string } }
  | { readonly unresolved: string };

export interface PlacementInputs {
  readonly inference: DiTInference;
  readonly children: Children;
  readonly nodes: readonly V1Node[];
  /** Pods of any owner that hold resources on nodes (bound, not finished), for free GPUs. */
  readonly boundPods: readonly V1Pod[];
  readonly defaultTolerations: readonly Toleration[];
}

/**
 * Which GPU pools the object could use, the plan for each, which pool wins, and where each group
 * runs. Pure: everything comes from the object, its children and the caches.
 */
export function decidePlacement(inputs: PlacementInputs): PlacementState {
  const { inference: inf, children } = inputs;
  const inputsHash = planInputsHash(inf);
  const recorded = recordedPoolPlans(children.planConfigMap, inputsHash);
  const allPools = discoverPools(inputs.nodes);
  const found = poolViews(inputs, allPools, recorded);
  if ('unresolved' in found) return found;
  const views = found.views;

  const feasible = views.filter((v) => v.excluded === undefined && v.outcome && 'plan' in v.outcome);
  if (feasible.length === 0) return noPool(views);
  const ranked = rankPools(
    feasible.map((v) => ({ name: v.name, plan: planOf(v), groupsFit: v.groupsFit })),
    inf.spec.parallelism.objective,
  );
  const best = ranked[0] as RankedPool;
  const byName = new Map(views.map((v) => [v.name, v]));

  const existing: ExistingGroup[] = [...children.groups.values()].map((g) => {
    const meta = g.statefulSet.metadata;
    return {
      index: g.index,
      pool: meta?.labels?.[LABELS.pool],
      planHash: meta?.annotations?.[ANNOTATIONS.planHash],
      specCurrent: meta?.annotations?.[OPERATOR_ANNOTATIONS.planInputsHash] === inputsHash,
      serving: groupAvailable(g),
      bound: g.pods.some((p) => Boolean(p.spec?.nodeName)),
    };
  });
  const knownPools = new Set(allPools.map((p) => p.name));
  if (specTopology(inf.spec.topology)) knownPools.add(SPEC_POOL_NAME);
  const planHashes = new Map(ranked.map((r) => [r.name, planHash(r.plan)]));
  const placementInput = {
    replicas: inf.spec.replicas,
    existing,
    ranked,
    planHashes,
    knownPools,
    overflow: inf.spec.placement?.pool?.overflow ?? 'None',
  } as const;
  const placements = placeGroups(placementInput);
  const home = homePool(placementInput);
  const primary: RankedPool =
    home === undefined || home.name === best.name
      ? best
      : {
          ...home,
          why: `the object's groups run on it (${home.why}); ${best.name} ranks first now — change the spec (spec.restartToken will do) to move them there`,
        };

  const placedOn = (index: number, pool: RankedPool, overflowFrom?: string): GroupDecision => ({
    index,
    kind: 'placed',
    pool: pool.name,
    selector: byName.get(pool.name)?.selector ?? {},
    plan: pool.plan,
    planHash: planHashes.get(pool.name) ?? planHash(pool.plan),
    ...(overflowFrom !== undefined ? { overflowFrom } : {}),
  });
  const groups = placements.map((p): GroupDecision => {
    if (p.kind === 'placed') {
      const pool = ranked.find((r) => r.name === p.pool) as RankedPool;
      return placedOn(p.index, pool, p.overflowFrom);
    }
    const hash = existing.find((g) => g.index === p.index)?.planHash;
    const plan = hash ? recordedPlan(children.planConfigMap, hash) : undefined;
    // Without its recorded plan the group cannot be kept as it is; it is placed like a new one.
    if (!hash || !plan) return placedOn(p.index, primary);
    return { index: p.index, kind: 'kept', pool: p.pool, because: p.because, plan, planHash: hash };
  });

  const poolPlans = new Map<string, string>();
  const plans = new Map<string, Plan>();
  for (const g of groups) {
    plans.set(g.planHash, g.plan);
    if (g.kind === 'placed') poolPlans.set(g.pool, g.planHash);
  }
  const rankedViews = ranked.map((r) => byName.get(r.name) as PoolView);
  return {
    decision: {
      inputsHash,
      source: views.some((v) => v.name === SPEC_POOL_NAME && v.usableNodes === undefined)
        ? 'FromSpec'
        : 'FromNodes',
      pools: [...rankedViews, ...views.filter((v) => !ranked.some((r) => r.name === v.name))],
      primary,
      ranked,
      groups,
      poolPlans,
      plans,
    },
  };
}

function planOf(v: PoolView): Plan {
  if (!v.outcome || !('plan' in v.outcome)) throw new Error(`bug: pool ${v.name} has no plan`);
  return v.outcome.plan;
}

/**
 * A view of every pool with at least one node the object's pods could use (Ready, schedulable, matching
 * the node selector and required node affinity, taints tolerated). With none, the pool `spec.topology`
 * describes (nodes a node autoscaler will add) if it names GPUs per node and product.
 */
function poolViews(
  inputs: PlacementInputs,
  allPools: readonly GpuPool[],
  recorded: ReadonlyMap<string, Plan>,
): { views: PoolView[] } | { unresolved: string } {
  const { spec } = inputs.inference;
  const placement = spec.placement;
  const nodeSelector = placement?.nodeSelector ?? {};
  const tolerations = [...(placement?.tolerations ?? []), ...inputs.defaultTolerations];
  const named = placement?.pool?.name;
  const free = freeGpus(inputs.nodes, inputs.boundPods);

  const views: PoolView[] = [];
  for (const pool of allPools) {
    const usable = pool.nodes.filter(
      (n) => podCouldLandOn(n, nodeSelector, tolerations) && nodeAffinityAllows(n, placement?.affinity),
    );
    if (usable.length === 0) continue;
    const base = {
      name: pool.name,
      ...(pool.gpuProduct !== undefined ? { gpuProduct: pool.gpuProduct } : {}),
      gpusPerNode: pool.gpusPerNode,
      selector: pool.selector,
      usableNodes: usable.length,
      groupsFit: 0,
    };
    if (named !== undefined && named !== pool.name) {
      views.push({ ...base, excluded: `spec.placement.pool.name names pool ${named}` });
      continue;
    }
    const topo = poolTopology(pool, usable.length, spec.topology);
    if ('unusable' in topo) {
      views.push({ ...base, excluded: topo.unusable });
      continue;
    }
    const outcome = planForPool(spec, pool.name, topo.resolved, recorded.get(pool.name));
    if (!('plan' in outcome)) {
      views.push({ ...base, topology: topo.resolved, outcome, excluded: outcome.rejected.message });
      continue;
    }
    const groupsFit = groupsThatFit(
      usable.map((n) => free.get(n.metadata?.name ?? '') ?? 0),
      outcome.plan.podsPerGroup,
      outcome.plan.gpusPerPod,
    );
    views.push({ ...base, topology: topo.resolved, outcome, groupsFit });
  }
  if (named !== undefined && views.length > 0 && !views.some((v) => v.name === named)) {
    return {
      unresolved: `spec.placement.pool.name ${named} names no pool this object's pods could use (pools: ${views.map((v) => v.name).join(', ')})`,
    };
  }
  if (views.length > 0) return { views };

  const fromSpec = specTopology(spec.topology);
  if (!fromSpec) {
    return {
      unresolved: `no Ready node with allocatable ${GPU_RESOURCE} matches the placement (node selector, tolerations, node affinity); set spec.topology.gpusPerNode and spec.topology.gpuProduct to plan without them`,
    };
  }
  const outcome = planForPool(spec, SPEC_POOL_NAME, fromSpec, recorded.get(SPEC_POOL_NAME));
  return {
    views: [
      {
        name: SPEC_POOL_NAME,
        gpuProduct: fromSpec.gpuProduct,
        gpusPerNode: fromSpec.gpusPerNode,
        selector: {},
        topology: fromSpec,
        outcome,
        // The nodes do not exist yet: the autoscaler brings what the pending groups ask for.
        groupsFit: spec.replicas,
        ...('rejected' in outcome ? { excluded: outcome.rejected.message } : {}),
      },
    ],
  };
}

/** No pool can run the object: the planner's reasons pool by pool (one pool: its reason alone). */
function noPool(views: readonly PoolView[]): PlacementState {
  const planned = views.filter((v) => v.outcome !== undefined);
  if (planned.length === 0) {
    return { unresolved: views.map((v) => `pool ${v.name}: ${v.excluded}`).join('; ') };
  }
  const rejections = planned.flatMap((v) =>
    v.outcome && 'rejected' in v.outcome ? [v.outcome.rejected] : [],
  );
  const reason = rejections.some((r) => r.reason === CONDITION_REASONS.noFeasiblePlan)
    ? CONDITION_REASONS.noFeasiblePlan
    : CONDITION_REASONS.invalidSpec;
  // A spec no hardware can run (heads against Ulysses, say) is rejected alike by every pool: say it once.
  const byMessage = new Map<string, string[]>();
  for (const v of views)
    byMessage.set(v.excluded ?? '', [...(byMessage.get(v.excluded ?? '') ?? []), v.name]);
  const message =
    views.length === 1
      ? (views[0]?.excluded ?? '')
      : `no pool can run it: ${[...byMessage]
          .map(([why, pools]) => `${pools.length > 1 ? 'pools' : 'pool'} ${pools.join(', ')}: ${why}`)
          .join('; ')}`;
  return { rejected: { reason, message } };
}
