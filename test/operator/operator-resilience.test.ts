import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1ConfigMap, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/operator/kube/client.js';
import { RESOURCES } from '../../src/operator/kube/resources.js';
import type { DiTInference } from '../../src/shared/api/v1alpha1/index.js';
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
import { ensureBuilt, OperatorProcess } from './support/operator-process.js';

/**
 * Restarts and failover against the real control plane: an operator killed mid-reconcile, an API
 * server restarted under a running operator, and two replicas electing a leader through a Lease.
 */
const cluster = useControlPlane({
  nodes: [{ namePrefix: 'h100', count: 12, gpus: 8, product: 'NVIDIA-H100-80GB-HBM3', memoryMiB: 81559 }],
});

let client: KubeClient;
const logDir = mkdtempSync(join(tmpdir(), 'tessera-operator-resilience-'));
const running: OperatorProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  await installCrd(cluster());
  client = await testClient(cluster());
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
});

afterAll(() => client?.close());

async function startOperator(label: string, args: string[]): Promise<OperatorProcess> {
  const op = await OperatorProcess.start({
    kubeconfigPath: cluster().kubeconfigPath,
    logFile: join(logDir, `${label}.log`),
    args,
  });
  running.push(op);
  return op;
}

/** Flux on one 8-GPU node, one group. */
function inference(name: string): DiTInference {
  return minimalInference(name, 8);
}

async function allReady(ns: string, names: string[], timeoutMs = 120_000): Promise<void> {
  await eventually(
    `${names.length} objects Ready in ${ns}`,
    async () => {
      for (const n of names) {
        const inf = await getInference(client, ns, n);
        if (condition(inf, 'Ready')?.status !== 'True') return undefined;
      }
      return true;
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: async () =>
        (
          await Promise.all(
            names.map(async (n) => `${n}: ${describeStatus(await getInference(client, ns, n))}`),
          )
        ).join('\n'),
    },
  );
}

/** Exactly the expected children per object: no duplicate, no orphan, every one owned by its object. */
async function expectExactChildren(ns: string, infs: DiTInference[]): Promise<void> {
  const sets = (await client.list<V1StatefulSet>(RESOURCES.statefulSet, { namespace: ns })).items;
  const cms = (
    await client.list<V1ConfigMap>(RESOURCES.configMap, { namespace: ns, labelSelector: 'tessera.dev/name' })
  ).items;
  const svcs = (await client.list<V1Service>(RESOURCES.service, { namespace: ns })).items;
  const pods = (await client.list<V1Pod>(RESOURCES.pod, { namespace: ns })).items;
  const expectedSets = infs.flatMap((i) =>
    Array.from({ length: i.spec.replicas }, (_, g) => `${i.metadata.name}-g${g}`),
  );
  expect(sets.map((s) => s.metadata?.name).sort()).toEqual(expectedSets.sort());
  expect(cms.map((c) => c.metadata?.name).sort()).toEqual(infs.map((i) => `${i.metadata.name}-plan`).sort());
  expect(svcs.map((s) => s.metadata?.name).sort()).toEqual(
    infs.flatMap((i) => [i.metadata.name ?? '', `${i.metadata.name}-peers`]).sort(),
  );
  const uids = new Map<string, string>();
  for (const i of infs) {
    const live = await getInference(client, ns, i.metadata.name ?? '');
    uids.set(i.metadata.name ?? '', live?.metadata.uid ?? '');
  }
  for (const o of [...sets, ...cms, ...svcs]) {
    const owner = o.metadata?.labels?.['tessera.dev/name'] ?? '';
    expect(o.metadata?.ownerReferences?.map((r) => r.uid)).toEqual([uids.get(owner)]);
  }
  const setUids = new Set(sets.map((s) => s.metadata?.uid));
  for (const p of pods) expect(setUids.has(p.metadata?.ownerReferences?.[0]?.uid)).toBe(true);
}

describe('restarts', () => {
  it('converges with no duplicate or orphaned objects after the operator is killed mid-reconcile', async () => {
    const ns = await createNamespace(cluster(), 'crash');
    const first = await startOperator('crash-1', ['--leader-elect=false']);
    const infs = ['a', 'b', 'c', 'd', 'e'].map((n) => inference(`crash-${n}`));
    await applyInferences(cluster(), ns, ...infs);
    // Kill it while it is creating children (reconciles of five objects are in flight).
    await eventually(
      'the operator started creating children',
      async () => {
        const sets = (await client.list(RESOURCES.statefulSet, { namespace: ns })).items;
        return sets.length > 0 ? true : undefined;
      },
      { intervalMs: 20 },
    );
    first.kill('SIGKILL');
    await first.exit;
    await startOperator('crash-2', ['--leader-elect=false']);
    await allReady(
      ns,
      infs.map((i) => i.metadata.name ?? ''),
    );
    await expectExactChildren(ns, infs);
  });

  it('converges after the API server restarts under a running operator', async () => {
    const ns = await createNamespace(cluster(), 'apirestart');
    const op = await startOperator('apirestart', ['--leader-elect=false', '--watch-timeout', '20s']);
    const before = [inference('api-a'), inference('api-b')];
    await applyInferences(cluster(), ns, ...before);
    await cluster().restartApiServer();
    await allReady(ns, ['api-a', 'api-b']);
    // Watches re-established: an object created after the restart is reconciled too.
    const after = inference('api-c');
    await applyInferences(cluster(), ns, after);
    await allReady(ns, ['api-c'], 60_000);
    await expectExactChildren(ns, [...before, after]);
    expect((await op.get('/healthz')).status).toBe(200);
    expect(await op.metric('tessera_leader')).toBe(1);
  });
});

describe('high availability', () => {
  it('one of two replicas leads; when it is killed the other reconciles a new object within 30 s', async () => {
    const ns = await createNamespace(cluster(), 'ha');
    const lease = ['--leader-election-namespace', ns, '--leader-election-id', 'tessera-operator'];
    const a = await startOperator('ha-a', lease);
    await eventually(
      'replica A leads',
      async () => ((await a.metric('tessera_leader')) === 1 ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
    const b = await startOperator('ha-b', lease);
    await eventually('replica B is a ready standby', async () =>
      (await b.get('/readyz')).status === 200 ? true : undefined,
    );
    await sleep(3_000);
    expect(await b.metric('tessera_leader')).toBe(0);
    expect(await a.metric('tessera_leader')).toBe(1);

    await applyInferences(cluster(), ns, inference('ha-before'));
    await allReady(ns, ['ha-before']);

    a.kill('SIGKILL');
    const killedAt = Date.now();
    await applyInferences(cluster(), ns, inference('ha-after'));
    await eventually(
      'replica B took over and planned the new object',
      async () => {
        const inf = await getInference(client, ns, 'ha-after');
        return condition(inf, 'Planned')?.status === 'True' ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `failover: new object reconciled ${(takeoverMs / 1000).toFixed(1)} s after the leader was killed`,
    );
    expect(takeoverMs).toBeLessThan(30_000);
    expect(await b.metric('tessera_leader')).toBe(1);
    await allReady(ns, ['ha-after'], 60_000);
    const leaseObj = await client.get<
      {
        spec?: { holderIdentity?: string; leaseTransitions?: number };
      } & import('../../src/operator/kube/objects.js').KubeObject
    >(RESOURCES.lease, ns, 'tessera-operator');
    expect(leaseObj.spec?.leaseTransitions).toBe(1);
  });
});
