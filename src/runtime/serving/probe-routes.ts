/** `/healthz` and `/readyz`, shared by the leader's server and the workers' probe server. */
import type { ServerResponse } from 'node:http';
import { RUNTIME_PROBE_PATHS } from '../../shared/runtime-contract.js';
import type { HealthState } from './health-state.js';
import { sendJson } from './http-io.js';

export function isProbePath(path: string): boolean {
  return path === RUNTIME_PROBE_PATHS.startup || path === RUNTIME_PROBE_PATHS.readiness;
}

export function answerProbe(path: string, health: HealthState, res: ServerResponse): void {
  if (path === RUNTIME_PROBE_PATHS.startup) {
    if (health.started) sendJson(res, 200, { status: 'started' });
    else sendJson(res, 503, { status: 'starting' });
    return;
  }
  const readiness = health.readiness();
  if (readiness.ready) sendJson(res, 200, { status: 'ready' });
  else sendJson(res, 503, { status: 'not_ready', reason: readiness.reason });
}
