import type { DiTInference } from '../../shared/api/v1alpha1/index.js';
import { PLAN_CONFIGMAP_KEY, type Plan } from '../../shared/plan/index.js';
import type { KubeObject } from '../kube/objects.js';
import { OPERATOR_ANNOTATIONS } from './keys.js';
import { childMeta } from './metadata.js';
import { planConfigMapName, planKey } from './names.js';

export interface PlanConfigMap extends KubeObject {
  data: Record<string, string>;
}

/** The plans a ConfigMap records: the best pool's, every plan a group runs, and the index by pool. */
export interface RecordedPlans {
  /** The best pool's plan, written as `plan.json` for people and tools. */
  readonly primary: Plan;
  /** Every plan some group runs (or still mounts during a roll), by hash. */
  readonly byHash: ReadonlyMap<string, Plan>;
  /** The current plan hash of each pool that groups run on. */
  readonly poolPlans: ReadonlyMap<string, string>;
  /** Hash of the spec fields the plans were made from. */
  readonly inputsHash: string;
}

/**
 * The plan ConfigMap. `plan.json` is the best pool's plan (the contract's key, for people and tools);
 * `plan-<hash>.json` holds each plan a group runs, and each group's pods mount their own key as
 * `plan.json`. So a group restarting mid-roll reads the plan its template was made for, never a newer
 * one with other GPU counts, and groups on different pools each read the plan made for their pool.
 */
export function renderPlanConfigMap(inf: DiTInference, plans: RecordedPlans): PlanConfigMap {
  const data: Record<string, string> = { [PLAN_CONFIGMAP_KEY]: planJson(plans.primary) };
  for (const [hash, plan] of plans.byHash) data[planKey(hash)] = planJson(plan);
  const index = Object.fromEntries([...plans.poolPlans].sort(([a], [b]) => a.localeCompare(b)));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(inf, planConfigMapName(inf.metadata.name ?? ''), {
      annotations: {
        [OPERATOR_ANNOTATIONS.planInputsHash]: plans.inputsHash,
        [OPERATOR_ANNOTATIONS.poolPlans]: JSON.stringify(index),
      },
    }),
    data,
  };
}

export function planJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
