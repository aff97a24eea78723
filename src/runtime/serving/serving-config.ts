/** The serving side of the env contract (src/shared/runtime-contract.ts). */
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';

export interface ServingConfig {
  port: number;
  queueSize: number;
  authToken: string | undefined;
}

/** The API's defaults (ServingSpec), for a runtime started outside the operator. */
const DEFAULT_PORT = 8080;
const DEFAULT_QUEUE_SIZE = 16;

export class ServingConfigError extends Error {
  override readonly name = 'ServingConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ServingConfigError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

export function readServingConfig(env: NodeJS.ProcessEnv): ServingConfig {
  const token = env[RUNTIME_ENV.servingAuthToken];
  return {
    port: integer(env, RUNTIME_ENV.servingPort, 1, 65535, DEFAULT_PORT),
    queueSize: integer(env, RUNTIME_ENV.servingQueueSize, 0, 10000, DEFAULT_QUEUE_SIZE),
    // A Secret value often ends with the newline of the file it was created from.
    authToken: token === undefined || token.trim() === '' ? undefined : token.trim(),
  };
}
