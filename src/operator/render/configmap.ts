import type { DiTInference } from '../../shared/api/v1alpha1/index.js';
import { PLAN_CONFIGMAP_KEY, type Plan } from '../../shared/plan/index.js';
import type { KubeObject } from '../kube/objects.js';
import { OPERATOR_ANNOTATIONS } from './keys.js';
import { childMeta } from './metadata.js';
import { planConfigMapName, planKey } from './names.js';

export interface PlanConfigMap extends KubeObject {
  data: Record<string, string>;
}

/**
 * The plan ConfigMap. `plan.json` is the current plan (the contract's key, for people and tools);
 * `plan-<hash>.json` holds each plan a group still runs, and each group's pods mount their own key as
 * `plan.json`. So a group restarting mid-roll reads the plan its template was made for, never a newer
 * one with other GPU counts.
 */
export function renderPlanConfigMap(
  inf: DiTInference,
  current: { plan: Plan; hash: string; inputsHash: string },
  stillRunning: ReadonlyMap<string, Plan>,
): PlanConfigMap {
  const data: Record<string, string> = { [PLAN_CONFIGMAP_KEY]: planJson(current.plan) };
  for (const [hash, plan] of stillRunning) data[planKey(hash)] = planJson(plan);
  data[planKey(current.hash)] = planJson(current.plan);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(inf, planConfigMapName(inf.metadata.name ?? ''), {
      annotations: { [OPERATOR_ANNOTATIONS.planInputsHash]: current.inputsHash },
    }),
    data,
  };
}

export function planJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
