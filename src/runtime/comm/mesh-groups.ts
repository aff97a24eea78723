import { axisGroup, type Degrees, MESH_AXES, type MeshAxis, worldSize } from '../../shared/plan/mesh.js';
import type { Communicator } from './communicator.js';

/**
 * One communicator per mesh axis for this rank, built from the world communicator: e.g. with
 * degrees { ulysses: 2, ring: 2, … } on 4 ranks, rank 1 gets ulysses = ranks [0, 1] and ring = [1, 3].
 * Every rank must call it with the same degrees; axes are connected in MESH_AXES order on all ranks, so
 * the rendezvous of one axis never waits on another.
 */
export async function axisCommunicators(
  world: Communicator,
  degrees: Degrees,
): Promise<Record<MeshAxis, Communicator>> {
  if (worldSize(degrees) !== world.size) {
    throw new RangeError(
      `mesh degrees multiply to ${worldSize(degrees)} ranks but the communicator has ${world.size}`,
    );
  }
  const result: Partial<Record<MeshAxis, Communicator>> = {};
  for (const axis of MESH_AXES) {
    result[axis] = await world.subgroup(axisGroup(world.rank, axis, degrees), axis);
  }
  return result as Record<MeshAxis, Communicator>;
}
