import type { Condition } from '../../shared/api/v1alpha1/index.js';

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * Sets conditions on a copy of `existing`, keeping each condition's `lastTransitionTime` when its status
 * did not change (metav1.Condition semantics), so rewriting the same status is a no-op.
 */
export function mergeConditions(
  existing: readonly Condition[] | undefined,
  updates: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  const byType = new Map((existing ?? []).map((c) => [c.type, c]));
  for (const u of updates) {
    const prev = byType.get(u.type);
    byType.set(u.type, {
      ...u,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime:
        prev && prev.status === u.status
          ? prev.lastTransitionTime
          : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  }
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}
