import type { PoolOverflow } from '../../shared/api/v1alpha1/index.js';
import type { RankedPool } from './rank.js';

/** An existing group as placement sees it. */
export interface ExistingGroup {
  readonly index: number;
  /** The pool recorded on its StatefulSet; undefined for a group made before pools existed. */
  readonly pool: string | undefined;
  /** Hash of the plan it runs. */
  readonly planHash: string | undefined;
  /** It was planned from the spec as it is now (only the cluster can have changed since). */
  readonly specCurrent: boolean;
  /** Every pod of it serves. */
  readonly serving: boolean;
  /** Some of its pods are bound to nodes: it already holds GPUs of its pool. */
  readonly bound: boolean;
}

/** Why a serving group keeps a plan its pool no longer gets. */
export type KeptBecause = 'poolGone' | 'poolReplanned';

export type GroupPlacement =
  /** Render the group for `pool` with that pool's current plan (creating, keeping or rolling it). */
  | { readonly index: number; readonly kind: 'placed'; readonly pool: string; readonly overflowFrom?: string }
  /** Leave the group exactly as it is: its pool changed under it while it serves. Reported, not moved. */
  | { readonly index: number; readonly kind: 'kept'; readonly pool: string; readonly because: KeptBecause };

export interface PlacementInput {
  readonly replicas: number;
  readonly existing: readonly ExistingGroup[];
  /** The pools the policy allows that have a plan, best first; never empty. */
  readonly ranked: readonly RankedPool[];
  /** Hash of each ranked pool's current plan. */
  readonly planHashes: ReadonlyMap<string, string>;
  /** Every pool the cluster has now, whether or not the policy allows it for this object. */
  readonly knownPools: ReadonlySet<string>;
  readonly overflow: PoolOverflow;
}

/**
 * The pool an object without overflow lives on: where most of its groups planned from the current spec
 * run (ties: the better-ranked pool), if the policy still allows it. Such an object stays on one pool
 * even when another one comes to rank higher; a spec change moves it (its groups roll anyway).
 */
export function homePool(input: PlacementInput): RankedPool | undefined {
  if (input.overflow !== 'None') return undefined;
  const counts = new Map<string, number>();
  for (const g of input.existing) {
    if (g.index < input.replicas && g.specCurrent && g.pool !== undefined) {
      counts.set(g.pool, (counts.get(g.pool) ?? 0) + 1);
    }
  }
  let home: RankedPool | undefined;
  for (const p of input.ranked) {
    if ((counts.get(p.name) ?? 0) > (home ? (counts.get(home.name) ?? 0) : 0)) home = p;
  }
  return home;
}

/**
 * Which pool each group runs on. Groups stay where they are (a group is never moved off a pool that
 * still takes it, so nothing flaps); a group moves only when its spec changed (it rolls anyway), when
 * the policy no longer allows its pool, or — not yet holding any GPU — when its pool is full and the
 * policy lets it overflow to a pool with room. A serving group whose pool shrank or vanished under it
 * (the cluster changed, not the spec) keeps running as it is and is reported. New groups go to the
 * object's home pool (overflow `None`: all its groups on one pool), else the best pool; with overflow
 * `NextPool` to the best pool that still has room.
 */
export function placeGroups(input: PlacementInput): GroupPlacement[] {
  const { ranked, overflow } = input;
  const best = homePool(input) ?? ranked[0];
  if (best === undefined) throw new Error('placeGroups needs at least one ranked pool');
  const room = new Map(ranked.map((p) => [p.name, p.groupsFit]));
  const take = (pool: string) => room.set(pool, Math.max(0, (room.get(pool) ?? 0) - 1));
  const withRoom = () => ranked.find((p) => (room.get(p.name) ?? 0) > 0);

  const placeNew = (index: number): GroupPlacement => {
    const target = overflow === 'NextPool' ? (withRoom() ?? best) : best;
    take(target.name);
    return target.name === best.name
      ? { index, kind: 'placed', pool: target.name }
      : { index, kind: 'placed', pool: target.name, overflowFrom: best.name };
  };

  const placements: GroupPlacement[] = [];
  const existing = [...input.existing]
    .filter((g) => g.index < input.replicas)
    .sort((a, b) => a.index - b.index);
  for (const g of existing) {
    const pool = g.pool;
    if (pool !== undefined && room.has(pool) && g.specCurrent) {
      const replannedUnder = g.specCurrent && g.planHash !== input.planHashes.get(pool);
      if (replannedUnder && g.serving) {
        placements.push({ index: g.index, kind: 'kept', pool, because: 'poolReplanned' });
        continue;
      }
      const elsewhere = withRoom();
      if (!g.bound && (room.get(pool) ?? 0) === 0 && overflow === 'NextPool' && elsewhere !== undefined) {
        take(elsewhere.name);
        placements.push({ index: g.index, kind: 'placed', pool: elsewhere.name, overflowFrom: pool });
        continue;
      }
      if (!g.bound) take(pool);
      placements.push({ index: g.index, kind: 'placed', pool });
      continue;
    }
    if (pool !== undefined && !room.has(pool) && !input.knownPools.has(pool) && g.serving && g.specCurrent) {
      placements.push({ index: g.index, kind: 'kept', pool, because: 'poolGone' });
      continue;
    }
    placements.push(placeNew(g.index));
  }
  const present = new Set(existing.map((g) => g.index));
  for (let index = 0; index < input.replicas; index++)
    if (!present.has(index)) placements.push(placeNew(index));
  return placements.sort((a, b) => a.index - b.index);
}
