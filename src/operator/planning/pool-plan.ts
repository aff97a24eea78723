import type { DiTInferenceSpec } from '../../shared/api/v1alpha1/index.js';
import type { Plan } from '../../shared/plan/index.js';
import type { ResolvedTopology } from '../topology/resolve.js';
import { type PlanningOutcome, planFor } from './plan-for.js';

export type PoolPlanOutcome =
  | { readonly plan: Plan; readonly fresh: boolean }
  | Exclude<PlanningOutcome, { plan: Plan }>;

/**
 * The plan for one pool. A plan recorded for the same spec on the same pool is kept while the pool
 * still has the GPUs and the nodes it was made for, so a cluster change that does not break it never
 * re-plans (and never disturbs a running group); otherwise the planner runs for the pool as it is now.
 * The plan names its pool.
 */
export function planForPool(
  spec: DiTInferenceSpec,
  pool: string,
  topology: ResolvedTopology,
  recorded: Plan | undefined,
): PoolPlanOutcome {
  if (recorded && stillFits(recorded, pool, topology)) return { plan: recorded, fresh: false };
  const outcome = planFor(spec, topology);
  if (!('plan' in outcome)) return outcome;
  return {
    plan: {
      ...outcome.plan,
      pool: { name: pool, gpuProduct: topology.gpuProduct, gpusPerNode: topology.gpusPerNode },
    },
    fresh: true,
  };
}

function stillFits(plan: Plan, pool: string, topology: ResolvedTopology): boolean {
  return (
    plan.pool?.name === pool &&
    plan.pool.gpuProduct === topology.gpuProduct &&
    plan.pool.gpusPerNode === topology.gpusPerNode &&
    (topology.nodesAvailable === undefined || plan.podsPerGroup <= topology.nodesAvailable)
  );
}
