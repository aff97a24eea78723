/**
 * The pod's side of the env contract (src/shared/runtime-contract.ts): what `tessera worker` learns from
 * the operator. Every problem names the variable, so a broken pod template is diagnosed from one line.
 */
import { DEFAULT_RENDEZVOUS_PORT, RUNTIME_ENV } from '../../shared/runtime-contract.js';

export interface PodEnvironment {
  podIndex: number;
  worldSize: number;
  podsPerGroup: number;
  gpusPerPod: number;
  planPath: string;
  rendezvousAddress: string;
  rendezvousPort: number;
  modelPath: string | undefined;
  groupName: string | undefined;
}

/** Set in each worker process by the launcher (not by the operator). */
export const RANK_ENV = {
  rank: 'TESSERA_RANK',
  localRank: 'TESSERA_LOCAL_RANK',
  /** Bound on rendezvous and every collective, in ms (a dead peer fails everyone within it). */
  commTimeoutMs: 'TESSERA_COMM_TIMEOUT_MS',
  /** Where the rank writes why it failed, for its launcher (failure-report.ts). */
  failureFile: 'TESSERA_RANK_FAILURE_FILE',
} as const;

export class EnvironmentError extends Error {
  override readonly name: string = 'EnvironmentError';
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new EnvironmentError(`${name} is not set (the operator's pod template sets it)`);
  }
  return value.trim();
}

export function integerVar(env: Env, name: string, min: number, fallback?: number): number {
  const raw = env[name];
  if ((raw === undefined || raw.trim() === '') && fallback !== undefined) return fallback;
  const text = required(env, name);
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new EnvironmentError(`${name} must be an integer >= ${min}, got '${text}'`);
  }
  return value;
}

export function readPodEnvironment(env: Env): PodEnvironment {
  const podsPerGroup = integerVar(env, RUNTIME_ENV.podsPerGroup, 1);
  const podIndex = integerVar(env, RUNTIME_ENV.podIndex, 0);
  if (podIndex >= podsPerGroup) {
    throw new EnvironmentError(
      `${RUNTIME_ENV.podIndex} is ${podIndex} but the group has ${podsPerGroup} pods (${RUNTIME_ENV.podsPerGroup})`,
    );
  }
  const port = integerVar(env, RUNTIME_ENV.rendezvousPort, 1, DEFAULT_RENDEZVOUS_PORT);
  if (port > 65535)
    throw new EnvironmentError(`${RUNTIME_ENV.rendezvousPort} must be a TCP port, got ${port}`);
  return {
    podIndex,
    podsPerGroup,
    worldSize: integerVar(env, RUNTIME_ENV.worldSize, 1),
    gpusPerPod: integerVar(env, RUNTIME_ENV.gpusPerPod, 1),
    planPath: required(env, RUNTIME_ENV.planPath),
    rendezvousAddress: required(env, RUNTIME_ENV.rendezvousAddress),
    rendezvousPort: port,
    modelPath: env[RUNTIME_ENV.modelPath]?.trim() || undefined,
    groupName: env[RUNTIME_ENV.groupName]?.trim() || undefined,
  };
}
