/**
 * The device mesh of one group. Axis order is innermost first, as in xDiT:
 * Ulysses → Ring → PipeFusion → CFG → data parallel, so that
 * `rank = u + U·(r + R·(p + P·(c + C·d)))`. Ranks of one pod are contiguous, which keeps the innermost
 * (chattiest) axes inside a node.
 */
export interface Degrees {
  dataParallel: number;
  cfg: number;
  pipefusion: number;
  ring: number;
  ulysses: number;
}

/** Axis names, innermost first. */
export const MESH_AXES = ['ulysses', 'ring', 'pipefusion', 'cfg', 'dataParallel'] as const;
export type MeshAxis = (typeof MESH_AXES)[number];

export type MeshCoords = Record<MeshAxis, number>;

export function worldSize(d: Degrees): number {
  return d.dataParallel * d.cfg * d.pipefusion * d.ring * d.ulysses;
}

export function rankToCoords(rank: number, d: Degrees): MeshCoords {
  const size = worldSize(d);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) {
    throw new RangeError(`rank ${rank} is outside the mesh of ${size} ranks`);
  }
  const coords = {} as MeshCoords;
  let rest = rank;
  for (const axis of MESH_AXES) {
    coords[axis] = rest % d[axis];
    rest = Math.floor(rest / d[axis]);
  }
  return coords;
}

export function coordsToRank(c: MeshCoords, d: Degrees): number {
  let rank = 0;
  for (let i = MESH_AXES.length - 1; i >= 0; i--) {
    const axis = MESH_AXES[i] as MeshAxis;
    rank = rank * d[axis] + c[axis];
  }
  return rank;
}

/**
 * The ranks that share every coordinate with `rank` except `axis`: the members of `rank`'s
 * communicator along that axis, ordered by their coordinate on it.
 */
export function axisGroup(rank: number, axis: MeshAxis, d: Degrees): number[] {
  const c = rankToCoords(rank, d);
  return Array.from({ length: d[axis] }, (_, i) => coordsToRank({ ...c, [axis]: i }, d));
}

/** Every communicator along `axis`, each as its ordered member list. */
export function axisGroups(axis: MeshAxis, d: Degrees): number[][] {
  const seen = new Set<number>();
  const groups: number[][] = [];
  for (let r = 0; r < worldSize(d); r++) {
    if (seen.has(r)) continue;
    const g = axisGroup(r, axis, d);
    for (const m of g) seen.add(m);
    groups.push(g);
  }
  return groups;
}
