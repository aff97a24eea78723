import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { KubeClient } from '../../src/operator/kube/client.js';
import { createNamespace, eventually, useControlPlane } from '../support/controlplane.js';
import { minimalInference } from './support/builders.js';
import {
  applyInferences,
  condition,
  describeStatus,
  getInference,
  installCrd,
  testClient,
} from './support/cluster.js';
import { FreezableProxy } from './support/freezable-proxy.js';
import { ensureBuilt, OperatorProcess } from './support/operator-process.js';

/**
 * Silent watch stalls: the operator talks to the real API server through a relay that can freeze its
 * connections (no error, no close, no bytes). /healthz must fail while the watches are dead, the
 * watchdog must restart them, and reconciling must resume once the network is back.
 */
const cluster = useControlPlane({
  nodes: [{ namePrefix: 'h100', count: 2, gpus: 8, product: 'NVIDIA-H100-80GB-HBM3' }],
});
let client: KubeClient;
let proxy: FreezableProxy;
let operator: OperatorProcess;
const dir = mkdtempSync(join(tmpdir(), 'tessera-stall-'));
/** The operator's caches as /healthz names them. */
const INFORMERS = [
  'ditinferences',
  'statefulsets',
  'pods',
  'configmaps',
  'services',
  'nodes',
  'pods (bound, any owner)',
];

beforeAll(async () => {
  ensureBuilt();
  await installCrd(cluster());
  client = await testClient(cluster());
  const server = new URL(cluster().server);
  const started = await FreezableProxy.start({ host: server.hostname, port: Number(server.port) });
  proxy = started.proxy;
  const kubeconfig = parse(readFileSync(cluster().kubeconfigPath, 'utf8')) as {
    clusters: Array<{ cluster: { server: string } }>;
  };
  for (const c of kubeconfig.clusters) c.cluster.server = `https://127.0.0.1:${started.port}`;
  const proxied = join(dir, 'kubeconfig');
  writeFileSync(proxied, stringify(kubeconfig));
  operator = await OperatorProcess.start({
    kubeconfigPath: proxied,
    logFile: join(dir, 'operator.log'),
    args: [
      '--leader-elect=false',
      '--watch-timeout',
      '2s',
      '--watch-stall-grace',
      '2s',
      '--informer-dead-after',
      '4s',
    ],
  });
});

afterAll(async () => {
  await operator?.stop();
  await proxy?.close();
  client?.close();
});

describe('watch stalls', () => {
  it('fails /healthz while the watches are silent, restarts them, and reconciles again after', async () => {
    const ns = await createNamespace(cluster(), 'stall');
    expect((await operator.get('/healthz')).status).toBe(200);
    // Every cache listed, so each is watching when the relay freezes (a list cut off instead times out
    // and is retried; it never reaches the watchdog).
    await eventually(
      'the operator has synced its caches',
      async () => ((await operator.get('/readyz')).status === 200 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250, describe: async () => (await operator.get('/readyz')).body },
    );

    proxy.freeze();
    const unhealthy = await eventually(
      '/healthz fails while no watch hears anything',
      async () => {
        const res = await operator.get('/healthz');
        return res.status === 503 ? res.body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(unhealthy).toMatch(/no contact with the API server/);
    // Each cache is named apart in /healthz, the second cache of pods too, so a failing probe says
    // which watch died.
    const allDead = await eventually(
      '/healthz names every silent watch',
      async () => {
        const res = await operator.get('/healthz');
        const names = res.body
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(': no contact')[0]);
        return names.length === INFORMERS.length ? names : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: async () => (await operator.get('/healthz')).body },
    );
    expect([...allDead].sort()).toEqual([...INFORMERS].sort());
    // The watchdog aborts every silent watch and restarts its informer; the log line carries the same
    // name as the probe. Waited for while still frozen: once bytes flow again a watch that the watchdog
    // has not yet checked ends normally and is never seen to stall.
    const restarted = await eventually(
      'the watchdog restarts every silent watch',
      async () => {
        const names = stalledWatches(operator.logTail(1_000_000));
        return INFORMERS.every((n) => names.has(n)) ? names : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        describe: async () =>
          `stalls logged for: ${[...stalledWatches(operator.logTail(1_000_000))].join(', ')}`,
      },
    );
    expect([...restarted].sort()).toEqual([...INFORMERS].sort());
    // Created while the operator is cut off: only a restarted watch (or relist) can deliver it.
    await applyInferences(cluster(), ns, minimalInference('after-stall', 8));
    await sleep(2_000);
    proxy.thaw();

    await eventually(
      'the object created during the stall is Ready',
      async () => {
        const inf = await getInference(client, ns, 'after-stall');
        return condition(inf, 'Ready')?.status === 'True' ? true : undefined;
      },
      {
        timeoutMs: 90_000,
        describe: async () => describeStatus(await getInference(client, ns, 'after-stall')),
      },
    );
    // Every watch hears from the API server again; one that is still in its restart back-off (at most
    // 30 s after repeated failures) gets there a little later than the ones the object needed.
    await eventually(
      '/healthz is healthy again',
      async () => ((await operator.get('/healthz')).status === 200 ? true : undefined),
      { timeoutMs: 40_000, describe: async () => (await operator.get('/healthz')).body },
    );
  });
});

/** Caches the operator logged a watchdog restart for (`resource` of its informer's warning). */
function stalledWatches(log: string): Set<string> {
  const names = new Set<string>();
  for (const line of log.split('\n')) {
    if (!line.includes('(stalled)')) continue;
    try {
      const entry = JSON.parse(line) as { component?: string; resource?: string; err?: { message?: string } };
      if (entry.component === 'informer' && entry.resource && /\(stalled\)$/.test(entry.err?.message ?? '')) {
        names.add(entry.resource);
      }
    } catch {
      // a line cut by the tail, or not JSON
    }
  }
  return names;
}
