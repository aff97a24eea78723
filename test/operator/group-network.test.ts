import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twoPoolCluster } from '../../src/devcluster/index.js';
import type { KubeClient } from '../../src/operator/kube/client.js';
import { isNotFound } from '../../src/operator/kube/errors.js';
import { controllerOf } from '../../src/operator/kube/objects.js';
import { RESOURCES } from '../../src/operator/kube/resources.js';
import type { NetworkPolicyObject } from '../../src/operator/render/network-policy.js';
import { GROUP_SECRET_FILE_PATH, RUNTIME_ENV } from '../../src/shared/runtime-contract.js';
import { createNamespace, eventually, useControlPlane } from '../support/controlplane.js';
import { minimalInference } from './support/builders.js';
import {
  applyInferences,
  installCrd,
  kubectlOk,
  listByName,
  testClient,
  waitInferenceReady,
} from './support/cluster.js';
import { ensureBuilt, OperatorProcess } from './support/operator-process.js';

/**
 * The group network on the real control plane: every group gets its own Secret (mounted by its pods,
 * named in their env) and a NetworkPolicy whose selectors, evaluated by the API server as a CNI would,
 * pick exactly that group's pods — not another group's of the same object, not another object's. The
 * control plane stores and serves the policies; enforcing them is the CNI's job (docs/operator.md).
 */
const cluster = useControlPlane({ nodes: twoPoolCluster(5, 1) });

let client: KubeClient;
let operator: OperatorProcess;
let ns: string;
const logDir = mkdtempSync(join(tmpdir(), 'tessera-group-network-'));

beforeAll(async () => {
  ensureBuilt();
  await installCrd(cluster());
  client = await testClient(cluster());
  operator = await OperatorProcess.start({
    kubeconfigPath: cluster().kubeconfigPath,
    logFile: join(logDir, 'operator.log'),
    args: ['--leader-elect=false', '--resync-period', '30s'],
  });
  ns = await createNamespace(cluster(), 'netpol');
  // `two`: two groups of two pods (16 GPUs on 8-GPU nodes); `one`: one group of one pod.
  await applyInferences(
    cluster(),
    ns,
    minimalInference('two', 16, { replicas: 2 }),
    minimalInference('one', 8),
  );
  await waitInferenceReady(client, ns, 'two');
  await waitInferenceReady(client, ns, 'one');
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  client?.close();
});

/** The names of the pods the API server selects with `matchLabels`. */
async function selected(matchLabels: Record<string, string>): Promise<string[]> {
  const labelSelector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await client.list<V1Pod>(RESOURCES.pod, { namespace: ns, labelSelector });
  return pods.items.map((p) => p.metadata?.name ?? '').sort();
}

/** The pods the group's StatefulSet controls. */
async function podsOfGroup(name: string, index: number): Promise<V1Pod[]> {
  const sts = (await listByName<V1StatefulSet>(client, RESOURCES.statefulSet, ns, name)).find(
    (s) => s.metadata?.name === `${name}-g${index}`,
  );
  const pods = await listByName<V1Pod>(client, RESOURCES.pod, ns, name);
  return pods.filter((p) => sts && controllerOf(p)?.uid === sts.metadata?.uid);
}

function policy(name: string): Promise<NetworkPolicyObject> {
  return client.get<NetworkPolicyObject>(RESOURCES.networkPolicy, ns, name);
}

describe('group network objects', () => {
  it('gives each group a NetworkPolicy that selects exactly its pods, and admits others only on the serving port', async () => {
    const groups: [string, number][] = [
      ['two', 0],
      ['two', 1],
      ['one', 0],
    ];
    const all = (await client.list<V1Pod>(RESOURCES.pod, { namespace: ns })).items.length;
    for (const [name, index] of groups) {
      const np = await policy(`${name}-g${index}`);
      const members = (await podsOfGroup(name, index)).map((p) => p.metadata?.name ?? '').sort();
      expect(members.length).toBe(name === 'two' ? 2 : 1);
      console.log(
        `NetworkPolicy ${name}-g${index}: selects ${(await selected(np.spec.podSelector.matchLabels)).join(', ')} of ${all} pods`,
      );
      // The pods it applies to, and the only pods it admits on every port: the group's own.
      expect(await selected(np.spec.podSelector.matchLabels)).toEqual(members);
      expect(np.spec.policyTypes).toEqual(['Ingress']);
      const [peers, serving, ...rest] = np.spec.ingress;
      expect(rest).toEqual([]);
      expect(peers?.ports).toBeUndefined();
      expect(peers?.from).toHaveLength(1);
      expect(await selected(peers?.from?.[0]?.podSelector.matchLabels ?? {})).toEqual(members);
      // Anyone (clients, probes, metrics) on the serving port, and on no other.
      expect(serving).toEqual({ ports: [{ protocol: 'TCP', port: 8080 }] });
      expect(controllerOf(np)?.name).toBe(name);
    }
  });

  it('gives each group its own Secret, mounted by its pods and named in their environment', async () => {
    const secrets = new Map<string, string>();
    for (const [name, index] of [
      ['two', 0],
      ['two', 1],
      ['one', 0],
    ] as const) {
      for (const pod of await podsOfGroup(name, index)) {
        const volume = pod.spec?.volumes?.find((v) => v.secret);
        const secretName = volume?.secret?.secretName ?? '';
        expect(secretName).toMatch(new RegExp(`^${name}-g${index}-secret-[a-z0-9]{8}$`));
        const container = pod.spec?.containers[0];
        const mount = container?.volumeMounts?.find((m) => m.name === volume?.name);
        expect(`${mount?.mountPath}/${volume?.secret?.items?.[0]?.path}`).toBe(GROUP_SECRET_FILE_PATH);
        expect(mount?.readOnly).toBe(true);
        expect(container?.env?.find((e) => e.name === RUNTIME_ENV.groupSecretFile)?.value).toBe(
          GROUP_SECRET_FILE_PATH,
        );
        const secret = await client.get<V1Secret>(RESOURCES.secret, ns, secretName);
        const bytes = Buffer.from(secret.data?.secret ?? '', 'base64');
        expect(bytes.length).toBe(32);
        expect(secret.immutable).toBe(true);
        expect(controllerOf(secret)?.name).toBe(name);
        secrets.set(`${name}-g${index}`, bytes.toString('hex'));
      }
    }
    // One per group, never shared.
    expect(secrets.size).toBe(3);
    expect(new Set(secrets.values()).size).toBe(3);
  });

  it('removes a group’s Secret and NetworkPolicy with the group on scale-down', async () => {
    const secretName = (await podsOfGroup('two', 1))[0]?.spec?.volumes?.find((v) => v.secret)?.secret
      ?.secretName;
    expect(secretName).toBeDefined();
    await kubectlOk(cluster(), ['scale', 'ditinference/two', '-n', ns, '--replicas=1']);
    const gone = async (r: typeof RESOURCES.secret | typeof RESOURCES.networkPolicy, name: string) => {
      try {
        await client.get(r, ns, name);
        return undefined;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    };
    await eventually('two-g1 NetworkPolicy deleted', () => gone(RESOURCES.networkPolicy, 'two-g1'));
    await eventually('two-g1 Secret deleted', () => gone(RESOURCES.secret, secretName ?? ''));
    // Group 0 keeps its objects.
    expect((await policy('two-g0')).metadata?.name).toBe('two-g0');
  });
});
