import { planShortString } from '../plan/index.js';
import { objectiveValue } from './rank.js';
import {
  type ApproximatePolicy,
  type Candidate,
  DEFAULT_APPROXIMATE_POLICY,
  type Objective,
  type PlannerPolicy,
  type PolicyDecision,
  type RankedCandidate,
  type Rejection,
} from './types.js';

/** PipeFusion is the only approximate method: its patches attend stale activations. */
export function isExact(c: Pick<Candidate, 'degrees'>): boolean {
  return c.degrees.pipefusion === 1;
}

/** The approximate policy a planner policy asks for, with the default filled in. */
export function approximatePolicy(policy: PlannerPolicy): ApproximatePolicy {
  if (!policy.allowPipefusion) return { rule: 'forbid', margin: policy.approximate?.margin ?? 0 };
  return policy.approximate ?? DEFAULT_APPROXIMATE_POLICY;
}

const pct = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

function describe(c: RankedCandidate, objective: Objective): string {
  const v = objectiveValue(c, objective);
  return `${planShortString(c.degrees)} (${v.toFixed(2)} ${objective === 'latency' ? 's' : 'GPU·s per image'})`;
}

/** Why no exact plan is feasible, from the rejections: memory if any exact plan failed only on memory. */
function whyNoExact(rejected: readonly Rejection[]): string {
  const memory = rejected.some(
    (r) => r.degrees?.pipefusion === 1 && r.violations.every((v) => v.rule === 'memory'),
  );
  return memory ? 'no exact plan fits in GPU memory' : 'no exact plan is valid for this model and request';
}

/**
 * Picks between the best exact and the best approximate candidate (both already ranked by the
 * objective, best first) by the approximate policy, and says which rule decided.
 */
export function decide(
  ranked: readonly RankedCandidate[],
  policy: ApproximatePolicy,
  objective: Objective,
  rejected: readonly Rejection[],
): { chosen: RankedCandidate; decision: PolicyDecision } | undefined {
  const bestExact = ranked.find(isExact);
  const bestApproximate = ranked.find((c) => !isExact(c));
  const decision = (
    chosen: RankedCandidate,
    rule: PolicyDecision['rule'],
    sentence: string,
  ): { chosen: RankedCandidate; decision: PolicyDecision } => ({
    chosen,
    decision: {
      policy,
      rule,
      sentence,
      ...(bestExact ? { bestExact } : {}),
      ...(bestApproximate ? { bestApproximate } : {}),
    },
  });
  if (!bestApproximate) {
    if (!bestExact) return undefined;
    const why =
      policy.rule === 'forbid'
        ? 'approximate methods (PipeFusion) are forbidden by the policy'
        : 'no PipeFusion plan is valid';
    return decision(
      bestExact,
      policy.rule === 'prefer' ? 'no-approximate-feasible' : 'only-exact',
      `exact: ${why}`,
    );
  }
  if (!bestExact) {
    return decision(
      bestApproximate,
      'no-exact-feasible',
      `approximate (PipeFusion) because ${whyNoExact(rejected)}`,
    );
  }
  const exactValue = objectiveValue(bestExact, objective);
  const approximateValue = objectiveValue(bestApproximate, objective);
  const margin = pct(policy.margin);
  if (policy.rule === 'prefer') {
    const saving = (approximateValue - exactValue) / approximateValue;
    if (saving >= policy.margin) {
      return decision(
        bestExact,
        'beyond-margin',
        `prefer approximate, but the best exact plan is ${pct(saving)} better than ${describe(bestApproximate, objective)}, beyond the ${margin} margin`,
      );
    }
    return decision(
      bestApproximate,
      'within-margin',
      `prefer approximate: the best exact plan ${describe(bestExact, objective)} is not ${margin} better`,
    );
  }
  const saving = (exactValue - approximateValue) / exactValue;
  if (saving >= policy.margin) {
    return decision(
      bestApproximate,
      'beyond-margin',
      `exact first, but approximate (PipeFusion) is ${pct(saving)} better than the best exact plan ${describe(bestExact, objective)}, beyond the ${margin} margin`,
    );
  }
  const against =
    saving > 0
      ? `the best approximate plan ${describe(bestApproximate, objective)} is only ${pct(saving)} better, under the ${margin} margin`
      : `the best approximate plan ${describe(bestApproximate, objective)} is no better`;
  return decision(bestExact, 'within-margin', `exact first: ${against}`);
}
