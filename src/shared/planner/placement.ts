import { type ClusterTopology, gpusPerDomain, type LinkLevel } from '../hardware/index.js';
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

/** Where ranks sit: pods of `gpusPerPod` contiguous ranks, each split into fast domains. */
export interface RankSpace {
  gpusPerPod: number;
  /** GPUs per fast domain inside a pod (a pod smaller than a domain is one domain). */
  domainSize: number;
}

export function rankSpace(topology: ClusterTopology, gpusPerPod: number): RankSpace {
  return { gpusPerPod, domainSize: Math.min(gpusPerDomain(topology), gpusPerPod) };
}

/** The slowest link between two ranks. */
export function linkBetween(a: number, b: number, space: RankSpace): LinkLevel {
  const podA = Math.floor(a / space.gpusPerPod);
  const podB = Math.floor(b / space.gpusPerPod);
  if (podA !== podB) return 'network';
  const domA = Math.floor((a % space.gpusPerPod) / space.domainSize);
  const domB = Math.floor((b % space.gpusPerPod) / space.domainSize);
  return domA === domB ? 'domain' : 'node';
}

const LEVEL_ORDER: Record<LinkLevel, number> = { domain: 0, node: 1, network: 2 };

/**
 * The slowest link any group of `axis` crosses. Pods and domains are contiguous rank ranges, so a
 * group stays inside one iff its first and last members do; that keeps this O(groups).
 */
export function axisLink(axis: MeshAxis, d: Degrees, space: RankSpace): LinkLevel | 'none' {
  const k = d[axis];
  if (k === 1) return 'none';
  const stride = axisStride(axis, d);
  const block = stride * k;
  const world = d.dataParallel * d.cfg * d.pipefusion * d.ring * d.ulysses;
  let worst: LinkLevel = 'domain';
  for (let outer = 0; outer < world; outer += block) {
    for (let inner = 0; inner < stride; inner++) {
      const first = outer + inner;
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
 * Members of rank 0's group on `axis` that share its fast unit (domain when `level` is 'domain', else
 * pod): the part of an all-to-all that stays on the faster link.
 */
export function membersSharingUnit(
  axis: MeshAxis,
  d: Degrees,
  space: RankSpace,
  unit: 'domain' | 'pod',
): number {
  const size = unit === 'domain' ? space.domainSize : space.gpusPerPod;
  const stride = axisStride(axis, d);
  return Math.max(1, Math.min(d[axis], Math.floor(size / stride)));
}
