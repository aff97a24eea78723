/** A group as the roll sees it. */
export interface RollingGroup {
  readonly index: number;
  /** Its StatefulSet carries the desired revision. */
  readonly upToDate: boolean;
  /** All its pods are Ready. */
  readonly available: boolean;
}

/**
 * Which outdated groups to move to the desired revision now, keeping at most `maxUnavailable` groups
 * down because of the roll. An outdated group that is down anyway is rolled at once (it costs nothing);
 * an available one is rolled only while fewer than `maxUnavailable` groups are down, lowest index
 * first. With maxUnavailable 1 the roll goes one group at a time: the next starts when the previous one
 * is Ready again.
 */
export function groupsToRoll(groups: readonly RollingGroup[], maxUnavailable = 1): number[] {
  const outdated = groups.filter((g) => !g.upToDate).sort((a, b) => a.index - b.index);
  const roll = outdated.filter((g) => !g.available).map((g) => g.index);
  let budget = maxUnavailable - groups.filter((g) => !g.available).length;
  for (const g of outdated) {
    if (!g.available || budget <= 0) continue;
    roll.push(g.index);
    budget--;
  }
  return roll.sort((a, b) => a - b);
}

/** Indexes of groups to remove when scaling to `replicas`: every index at or above it, highest first. */
export function groupsToRemove(existing: readonly number[], replicas: number): number[] {
  return existing.filter((i) => i >= replicas).sort((a, b) => b - a);
}
