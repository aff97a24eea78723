/**
 * Where a rank stands in the VAE decode of a serving group: its data-parallel replica, and — when it is
 * one of the replica's VAE ranks (plan.pipeline.vaeDecode.ranks, the first ones of the replica) — the
 * communicator over those ranks that its patch-parallel decode runs on. Built here, beside the group's
 * own communicators, because every rank starts through this folder; each replica decodes its own share
 * of the images, so the decode's time does not grow with the data-parallel degree.
 */

import { type Degrees, rankToCoords, worldSize } from '../../shared/plan/index.js';
import type { Communicator } from '../comm/index.js';
import type { ParallelGroup } from '../rendezvous/group.js';

export interface DecodePlacement {
  /** This rank's data-parallel replica. */
  replica: number;
  replicas: number;
  /** World ranks of each replica's VAE ranks, in band order (replica d's first is the one that answers). */
  decodeRanks: number[][];
  /** Whether this rank decodes bands of its replica's images. */
  decodes: boolean;
  /** The patch-parallel communicator over this replica's VAE ranks; absent with one VAE rank or none. */
  comm?: Communicator;
}

/** Each replica's VAE ranks: the first `vaeRanks` of its ranks, in their order along the inner axes. */
export function replicaDecodeRanks(degrees: Degrees, vaeRanks: number): number[][] {
  const replicas: number[][] = Array.from({ length: degrees.dataParallel }, () => []);
  for (let rank = 0; rank < worldSize(degrees); rank++) {
    replicas[rankToCoords(rank, degrees).dataParallel]?.push(rank);
  }
  return replicas.map((ranks) => ranks.slice(0, vaeRanks));
}

/**
 * The decode placement of this rank. When the group serves images, every VAE rank of a replica with more
 * than one joins that replica's communicator (a rendezvous among those ranks only), so every rank must
 * call it once, after joining the group, with the plan's VAE ranks and the same `servesImages` (the
 * model folder is a whole pipeline: ImagePipeline.isWhole). A latents-only group opens none.
 */
export async function joinDecodeGroup(
  group: ParallelGroup,
  vaeRanks: number,
  servesImages: boolean,
): Promise<DecodePlacement> {
  const replica = group.coords.dataParallel;
  const decodeRanks = replicaDecodeRanks(group.degrees, vaeRanks);
  const mine = decodeRanks[replica] ?? [];
  const decodes = servesImages && mine.includes(group.rank);
  const placement: DecodePlacement = { replica, replicas: group.degrees.dataParallel, decodeRanks, decodes };
  if (decodes && mine.length > 1) placement.comm = await group.world.subgroup(mine, 'vae');
  return placement;
}
