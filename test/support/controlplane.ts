import { afterAll, beforeAll } from 'vitest';
import {
  type ControlPlane,
  type ControlPlaneOptions,
  startControlPlane,
} from '../../src/devcluster/index.js';

/**
 * One local control plane per test file: started in beforeAll, stopped in afterAll (also when tests
 * fail; an interrupted or killed run is cleaned up by the devcluster's own exit handlers and watchdog).
 * Returns an accessor, since the cluster exists only once beforeAll has run:
 *
 *   const cluster = useControlPlane({ nodes: [{ count: 2, gpus: 8 }] });
 *   it('...', async () => { const kc = cluster().kubeConfig(); ... });
 */
export function useControlPlane(opts: ControlPlaneOptions = {}): () => ControlPlane {
  let cluster: ControlPlane | undefined;
  beforeAll(async () => {
    cluster = await startControlPlane(opts);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('useControlPlane: the control plane is used before beforeAll started it');
    return cluster;
  };
}

/** A fresh namespace with a unique name (tests in one file then never see each other's objects). */
export async function createNamespace(cluster: ControlPlane, prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await cluster.kubectl(['create', 'namespace', name]);
  if (res.code !== 0) throw new Error(`creating namespace ${name} failed: ${res.stderr}`);
  return name;
}

// In a module of its own (no vitest import), so benchmarks can wait on the cluster too.
export { eventually } from './eventually.js';
