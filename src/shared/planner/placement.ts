import {
  type ClusterTopology,
  gpusPerDomain,
  gpusPerSwitch,
  LINK_LEVELS,
  type LinkLevel,
} from '../hardware/index.js';
import { type Degrees, MESH_AXES, type MeshAxis, type RankPlacement } from '../plan/index.js';
import type { AxisLinks } from './types.js';

export interface PodLayout {
  podsPerGroup: number;
  gpusPerPod: number;
}

/**
 * A group spans ceil(gpus / gpusPerNode) pods, one per node, with the same GPU count in each; `null` when
 * the count does not split evenly.
 */
export function podLayout(gpus: number, gpusPerNode: number): PodLayout | null {
  const pods = Math.ceil(gpus / gpusPerNode);
  if (gpus % pods !== 0) return null;
  return { podsPerGroup: pods, gpusPerPod: gpus / pods };
}

/** Ranks of one pod are contiguous: rank = pod · gpusPerPod + localRank. */
export function rankPlacements(gpus: number, gpusPerPod: number): RankPlacement[] {
  return Array.from({ length: gpus }, (_, rank) => ({
    rank,
    pod: Math.floor(rank / gpusPerPod),
    localRank: rank % gpusPerPod,
  }));
}

/** Stride of an axis in rank space: the product of the degrees inside it. */
export function axisStride(axis: MeshAxis, d: Degrees): number {
  let stride = 1;
  for (const a of MESH_AXES) {
    if (a === axis) return stride;
    stride *= d[a];
  }
  return stride;
}

/** Where ranks sit: pods of `gpusPerPod` contiguous ranks, each split into fast domains and PCIe switches. */
export interface RankSpace {
  gpusPerPod: number;
  /** GPUs per fast domain inside a pod (a pod smaller than a domain is one domain). */
  domainSize: number;
  /** GPUs under one PCIe switch inside a domain (1: no switch level, as on NVLink). */
  switchSize: number;
}

export function rankSpace(topology: ClusterTopology, gpusPerPod: number): RankSpace {
  const domainSize = Math.min(gpusPerDomain(topology), gpusPerPod);
  return { gpusPerPod, domainSize, switchSize: Math.min(gpusPerSwitch(topology), domainSize) };
}

/** The slowest link between two ranks. */
export function linkBetween(a: number, b: number, space: RankSpace): LinkLevel {
  const podA = Math.floor(a / space.gpusPerPod);
  const podB = Math.floor(b / space.gpusPerPod);
  if (podA !== podB) return 'network';
  const localA = a % space.gpusPerPod;
  const localB = b % space.gpusPerPod;
  if (Math.floor(localA / space.domainSize) !== Math.floor(localB / space.domainSize)) return 'node';
  if (
    space.switchSize > 1 &&
    Math.floor(localA / space.switchSize) === Math.floor(localB / space.switchSize)
  ) {
    return 'switch';
  }
  return 'domain';
}

const LEVEL_ORDER: Record<LinkLevel, number> = { switch: 0, domain: 1, node: 2, network: 3 };

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The slowest link any group of `axis` crosses. Pods and domains are contiguous rank ranges, so a
 * group stays inside one iff its first and last members do. Moving both by a whole pod changes no
 * link, so only each group's first rank modulo the pod size matters: groups are visited until every
 * such residue that occurs has been seen, at most `gpusPerPod` of them, whatever the group size.
 */
export function axisLink(axis: MeshAxis, d: Degrees, space: RankSpace): LinkLevel | 'none' {
  const k = d[axis];
  if (k === 1) return 'none';
  const stride = axisStride(axis, d);
  const block = stride * k;
  const world = d.dataParallel * d.cfg * d.pipefusion * d.ring * d.ulysses;
  const pod = space.gpusPerPod;
  // First ranks are outer·block + inner (inner < stride): with stride ≥ pod the first block already
  // holds every residue; else outer·block's residue repeats after pod / gcd(block, pod) blocks.
  const inners = Math.min(stride, pod);
  const outers = stride >= pod ? 1 : Math.min(world / block, pod / gcd(block, pod));
  let worst: LinkLevel = 'switch';
  for (let o = 0; o < outers; o++) {
    for (let inner = 0; inner < inners; inner++) {
      const first = o * block + inner;
      const level = linkBetween(first, first + stride * (k - 1), space);
      if (LEVEL_ORDER[level] > LEVEL_ORDER[worst]) worst = level;
      if (worst === 'network') return worst;
    }
  }
  return worst;
}

export function axisLinks(d: Degrees, space: RankSpace): AxisLinks {
  const links = {} as AxisLinks;
  for (const axis of MESH_AXES) links[axis] = axisLink(axis, d, space);
  return links;
}

/**
 * How many of rank 0's peers on `axis` sit behind each link level: an all-to-all sends to all of them
 * at once, each share over its own link. Axis groups are alike (contiguous blocks), so rank 0's group
 * stands for all of them.
 */
export function peersByLevel(axis: MeshAxis, d: Degrees, space: RankSpace): Record<LinkLevel, number> {
  const counts = Object.fromEntries(LINK_LEVELS.map((l) => [l, 0])) as Record<LinkLevel, number>;
  const stride = axisStride(axis, d);
  for (let j = 1; j < d[axis]; j++) counts[linkBetween(0, j * stride, space)] += 1;
  return counts;
}
