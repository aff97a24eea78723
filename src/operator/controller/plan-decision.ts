import type { V1ConfigMap } from '@kubernetes/client-node';
import type { DiTInference } from '../../shared/api/v1alpha1/index.js';
import { PLAN_CONFIGMAP_KEY, PLAN_SCHEMA_VERSION, type Plan } from '../../shared/plan/index.js';
import { planFor } from '../planning/plan-for.js';
import { stableHash } from '../render/hash.js';
import { OPERATOR_ANNOTATIONS } from '../render/keys.js';
import { planKey } from '../render/names.js';
import type { PlanState } from '../status/compute.js';
import type { TopologyOutcome } from '../topology/resolve.js';

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

/**
 * The plan to run. A plan already recorded for the same spec inputs is kept, whatever the nodes say
 * now: a topology change alone never re-plans, so it never disrupts running groups. Otherwise the
 * planner runs on the current topology.
 */
export function decidePlan(
  inf: DiTInference,
  configMap: V1ConfigMap | undefined,
  topology: TopologyOutcome,
): PlanState {
  const inputsHash = planInputsHash(inf);
  if (configMap?.metadata?.annotations?.[OPERATOR_ANNOTATIONS.planInputsHash] === inputsHash) {
    const recorded = parsePlan(configMap.data?.[PLAN_CONFIGMAP_KEY]);
    if (recorded) return { plan: recorded, reused: true };
  }
  if ('unresolved' in topology) return { unresolved: topology.unresolved };
  const outcome = planFor(inf.spec, topology.resolved);
  return 'plan' in outcome ? { plan: outcome.plan, reused: false } : { rejected: outcome.rejected };
}

/** The plan the ConfigMap currently names as `plan.json`, if any. */
export function currentRecordedPlan(configMap: V1ConfigMap | undefined): Plan | undefined {
  return parsePlan(configMap?.data?.[PLAN_CONFIGMAP_KEY]);
}

/** The plan a group on an older revision still runs, read back from its ConfigMap key. */
export function recordedPlan(configMap: V1ConfigMap | undefined, hash: string): Plan | undefined {
  return parsePlan(configMap?.data?.[planKey(hash)]);
}

export function planHash(plan: Plan): string {
  return stableHash(plan);
}
