/**
 * Joining a group through the TCP store on its rank 0 (the address the operator injects).
 *
 * The store lives inside rank 0's process, so a restarted group gets a fresh store; what can go wrong is
 * a new process reaching an old store (the previous rank 0 still terminating behind the same DNS name) or
 * two processes claiming one rank. Rank 0 therefore opens a *session*: a random id it publishes in the
 * store, under which every rank claims its number exactly once. A rank that finds its number already
 * claimed is talking to a stale group and fails at once (the group policy restarts it); communicators
 * are keyed by the session, so keys of different generations never mix.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import { TcpStore } from '../comm/index.js';
import { readGroupSecret } from './group-secret.js';

export const SESSION_KEY = 'tessera/session';

export interface JoinOptions {
  host: string;
  port: number;
  rank: number;
  worldSize: number;
  /** Address the store server binds to on rank 0 ('0.0.0.0' in a pod). */
  listenHost?: string;
  /** Bound on the whole join, peers' start-up included. */
  timeoutMs: number;
  /** The group secret; default: readGroupSecret() (TESSERA_GROUP_SECRET_FILE). */
  secret?: Uint8Array;
  logger: Logger;
}

export interface Session {
  store: TcpStore;
  /** Random id rank 0 chose for this generation of the group. */
  id: string;
  /** How many sessions this store has opened (1 for a fresh rank 0). */
  generation: number;
}

export class RendezvousError extends Error {
  override readonly name = 'RendezvousError';
}

const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 2_000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Connects to the store, retrying with back-off until the deadline (rank 0 may not be up yet). */
async function connectStore(options: JoinOptions, secret: Uint8Array, deadline: number): Promise<TcpStore> {
  const isServer = options.rank === 0;
  let delay = RETRY_FIRST_MS;
  let attempt = 0;
  for (;;) {
    attempt++;
    const left = deadline - Date.now();
    try {
      return await TcpStore.create({
        host: options.host,
        port: options.port,
        isServer,
        ...(options.listenHost !== undefined ? { listenHost: options.listenHost } : {}),
        timeoutMs: Math.max(1, Math.min(left, 10_000)),
        secret,
        logger: options.logger,
      });
    } catch (err) {
      // The server side cannot get better by waiting for peers; a client can (DNS, pod 0 starting), but
      // not when the store refused its secret.
      if (refusedSecret(err)) {
        throw new RendezvousError(
          `rank ${options.rank}: the group's store at ${options.host}:${options.port} and this rank do not ` +
            `hold the same group secret (${RUNTIME_ENV.groupSecretFile} must name the group's Secret)`,
          { cause: err },
        );
      }
      if (isServer || Date.now() + delay >= deadline) {
        throw new RendezvousError(
          `rank ${options.rank}: cannot reach the group's store at ${options.host}:${options.port} ` +
            `after ${attempt} attempt(s) within ${options.timeoutMs} ms`,
          { cause: err },
        );
      }
      options.logger.warn({ attempt, err: (err as Error).message }, 'store not reachable yet; retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

function refusedSecret(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/group secret/.test(e.message)) return true;
  }
  return false;
}

/** Joins the group: rank 0 opens a session, every rank claims its number in it, all wait for all. */
export async function joinSession(options: JoinOptions): Promise<Session> {
  const { rank, worldSize, logger } = options;
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new RendezvousError(`rank ${rank} is outside a group of ${worldSize} ranks`);
  }
  const deadline = Date.now() + options.timeoutMs;
  const store = await connectStore(options, options.secret ?? readGroupSecret(), deadline);
  try {
    let id: string;
    let generation: number;
    if (rank === 0) {
      generation = await store.add('tessera/generation', 1);
      id = `${randomBytes(6).toString('hex')}-${generation}`;
      await store.set(SESSION_KEY, id);
    } else {
      id = await store.getString(SESSION_KEY, Math.max(1, deadline - Date.now()));
      generation = Number(id.split('-')[1] ?? '0');
    }
    const claims = await store.add(`tessera/${id}/claim/${rank}`, 1);
    if (claims !== 1) {
      throw new RendezvousError(
        `rank ${rank} is already claimed in group session ${id}: this store belongs to an earlier ` +
          'generation of the group, or two processes run the same rank',
      );
    }
    const keys = Array.from({ length: worldSize }, (_, r) => `tessera/${id}/claim/${r}`);
    try {
      await store.wait(keys, Math.max(1, deadline - Date.now()));
    } catch (err) {
      const missing: number[] = [];
      for (let r = 0; r < worldSize; r++) if (!(await store.check(keys[r] as string))) missing.push(r);
      throw new RendezvousError(
        `rank ${rank}: ranks [${missing.join(', ')}] did not join session ${id} within ${options.timeoutMs} ms`,
        { cause: err },
      );
    }
    logger.info({ session: id, generation }, 'joined the group');
    return { store, id, generation };
  } catch (err) {
    store.close();
    throw err;
  }
}
