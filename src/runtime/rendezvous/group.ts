/**
 * A rank's membership of its group: the session, the world communicator and one communicator per mesh
 * axis, built in xDiT's order (innermost first: Ulysses → Ring → PipeFusion → CFG → data parallel).
 */

import type { Logger } from '../../shared/log.js';
import {
  type Degrees,
  type MeshAxis,
  type MeshCoords,
  rankToCoords,
  worldSize,
} from '../../shared/plan/index.js';
import { axisCommunicators, type Backend, type Communicator, createCommunicator } from '../comm/index.js';
import { joinSession, RendezvousError, type Session } from './session.js';

export interface GroupOptions {
  host: string;
  port: number;
  rank: number;
  degrees: Degrees;
  backend: Backend;
  /** Bound on the rendezvous and on every collective: a dead peer fails everyone within it. */
  timeoutMs: number;
  /** Store server bind address on rank 0. */
  storeListenHost?: string;
  /** The group secret; default: readGroupSecret() (TESSERA_GROUP_SECRET_FILE). */
  secret?: Uint8Array;
  /** This rank's address as peers reach it (gloo). */
  listenHost?: string;
  cudaDevice?: number;
  logger: Logger;
}

export interface ParallelGroup {
  readonly rank: number;
  readonly size: number;
  readonly degrees: Degrees;
  readonly coords: MeshCoords;
  readonly session: Session;
  readonly world: Communicator;
  readonly axes: Record<MeshAxis, Communicator>;
  /** Options a second set of communicators (another thread) needs to join the same session. */
  readonly connection: GroupConnection;
  close(): Promise<void>;
}

/** Everything needed to open more communicators in this session, e.g. from a comm thread. */
export interface GroupConnection {
  host: string;
  port: number;
  rank: number;
  size: number;
  backend: Backend;
  prefix: string;
  generation: number;
  timeoutMs: number;
  listenHost?: string;
  cudaDevice?: number;
}

export async function joinGroup(options: GroupOptions): Promise<ParallelGroup> {
  const size = worldSize(options.degrees);
  const logger = options.logger.child({ rank: options.rank, size });
  const session = await joinSession({
    host: options.host,
    port: options.port,
    rank: options.rank,
    worldSize: size,
    timeoutMs: options.timeoutMs,
    logger,
    ...(options.storeListenHost !== undefined ? { listenHost: options.storeListenHost } : {}),
    ...(options.secret !== undefined ? { secret: options.secret } : {}),
  });
  const prefix = `s-${session.id}`;
  const connection: GroupConnection = {
    host: options.host,
    port: session.store.port,
    rank: options.rank,
    size,
    backend: options.backend,
    prefix,
    generation: session.generation,
    timeoutMs: options.timeoutMs,
    ...(options.listenHost !== undefined ? { listenHost: options.listenHost } : {}),
    ...(options.cudaDevice !== undefined ? { cudaDevice: options.cudaDevice } : {}),
  };
  let world: Communicator | undefined;
  try {
    world = await createCommunicator({
      backend: options.backend,
      store: session.store,
      rank: options.rank,
      size,
      prefix,
      generation: session.generation,
      timeoutMs: options.timeoutMs,
      logger,
      ...(options.listenHost !== undefined ? { listenHost: options.listenHost } : {}),
      ...(options.cudaDevice !== undefined ? { cudaDevice: options.cudaDevice } : {}),
    });
    const axes = await axisCommunicators(world, options.degrees);
    const worldComm = world;
    return {
      rank: options.rank,
      size,
      degrees: options.degrees,
      coords: rankToCoords(options.rank, options.degrees),
      session,
      world: worldComm,
      axes,
      connection,
      async close() {
        for (const c of Object.values(axes)) await c.close();
        await worldComm.close();
        // Rank 0 hosts the store: it leaves last, once every rank has said it is done with it.
        await session.store.set(`tessera/${session.id}/done/${options.rank}`, '1');
        if (options.rank === 0) {
          const keys = Array.from({ length: size }, (_, r) => `tessera/${session.id}/done/${r}`);
          await session.store.wait(keys).catch((err: unknown) => {
            logger.warn({ err }, 'not every rank said it was done before the store closed');
          });
        }
        session.store.close();
      },
    };
  } catch (err) {
    if (world) await world.close().catch(() => undefined);
    session.store.close();
    throw err instanceof RendezvousError
      ? err
      : new RendezvousError(`rank ${options.rank}: building the group's communicators failed`, {
          cause: err,
        });
  }
}
