import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ControlPlane } from '../../../src/devcluster/index.js';
import { KubeClient } from '../../../src/operator/kube/client.js';
import type { KubeObject } from '../../../src/operator/kube/objects.js';
import { RESOURCES } from '../../../src/operator/kube/resources.js';
import type { DiTInference } from '../../../src/shared/api/v1alpha1/index.js';
import { eventually } from '../../support/eventually.js';

export const ROOT = resolve(import.meta.dirname, '../../..');

/** Installs the generated CRD and waits until the API serves it. */
export async function installCrd(cluster: ControlPlane): Promise<void> {
  const crd = join(ROOT, 'crds/tessera.dev_ditinferences.yaml');
  const applied = await cluster.kubectl(['apply', '--server-side', '-f', crd]);
  if (applied.code !== 0) throw new Error(`installing the CRD failed: ${applied.stderr}`);
  // Right after the apply the CRD can have no status yet, which kubectl wait reports as an error.
  let waited = { code: 1, stderr: '' };
  for (let attempt = 0; attempt < 5 && waited.code !== 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1_000));
    waited = await cluster.kubectl([
      'wait',
      '--for=condition=Established',
      'crd/ditinferences.tessera.dev',
      '--timeout=60s',
    ]);
  }
  if (waited.code !== 0) throw new Error(`the CRD did not become established: ${waited.stderr}`);
}

export async function kubectlOk(cluster: ControlPlane, args: string[], input?: string): Promise<string> {
  const res = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

/** Server-side applies DiTInference objects in `ns`, as a user would with kubectl. */
export async function applyInferences(
  cluster: ControlPlane,
  ns: string,
  ...infs: DiTInference[]
): Promise<void> {
  await kubectlOk(
    cluster,
    ['apply', '--server-side', '-n', ns, '-f', '-'],
    infs.map((i) => stringify(i)).join('---\n'),
  );
}

/** The events in `ns` with one reason, as kubectl lists them (what a user reading them would see). */
export async function eventsWithReason(
  cluster: ControlPlane,
  ns: string,
  reason: string,
): Promise<{ items: Array<{ message: string }> }> {
  const listed = await kubectlOk(cluster, [
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    `reason=${reason}`,
    '-o',
    'json',
  ]);
  return JSON.parse(listed) as { items: Array<{ message: string }> };
}

export function readExample(file: string): DiTInference {
  return parse(readFileSync(join(ROOT, 'examples', file), 'utf8')) as DiTInference;
}

/** A test client: the same small JSON client the operator uses, talking to the real API server. */
export async function testClient(cluster: ControlPlane): Promise<KubeClient> {
  return KubeClient.create(cluster.kubeConfig());
}

export async function getInference(
  client: KubeClient,
  ns: string,
  name: string,
): Promise<DiTInference | undefined> {
  try {
    return await client.get<DiTInference>(RESOURCES.ditInference, ns, name);
  } catch {
    return undefined;
  }
}

export async function listByName<T extends KubeObject>(
  client: KubeClient,
  resource: (typeof RESOURCES)[keyof typeof RESOURCES],
  ns: string,
  name: string,
): Promise<T[]> {
  const list = await client.list<T>(resource, { namespace: ns, labelSelector: `tessera.dev/name=${name}` });
  return list.items;
}

export function condition(inf: DiTInference | undefined, type: string) {
  return inf?.status?.conditions?.find((c) => c.type === type);
}

/** Short description of an object's status, for timeout messages. */
export function describeStatus(inf: DiTInference | undefined): string {
  if (!inf) return 'object not found';
  const conds = (inf.status?.conditions ?? []).map(
    (c) => `${c.type}=${c.status}(${c.reason}: ${c.message.slice(0, 160)})`,
  );
  return `groups ${inf.status?.groupsReady ?? '-'}; ${conds.join('; ')}; groups=${JSON.stringify(inf.status?.groups ?? [])}`;
}

/** A PersistentVolume and a claim bound to it, so pods with a PVC model source can be scheduled. */
export async function provideClaim(cluster: ControlPlane, ns: string, claim: string): Promise<void> {
  const pv = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${ns}-${claim}` },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadOnlyMany'],
      hostPath: { path: '/tmp' },
      claimRef: { namespace: ns, name: claim },
      storageClassName: '',
    },
  };
  const pvc = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim, namespace: ns },
    spec: {
      accessModes: ['ReadOnlyMany'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: '',
      volumeName: `${ns}-${claim}`,
    },
  };
  await kubectlOk(cluster, ['apply', '-f', '-'], `${stringify(pv)}---\n${stringify(pvc)}`);
}

/** Waits until the object reports Ready=True for its current generation. */
export async function waitInferenceReady(
  client: KubeClient,
  ns: string,
  name: string,
  timeoutMs = 120_000,
): Promise<DiTInference> {
  return eventually(
    `${ns}/${name} reports Ready=True`,
    async () => {
      const inf = await getInference(client, ns, name);
      return condition(inf, 'Ready')?.status === 'True' &&
        inf?.status?.observedGeneration === inf?.metadata.generation
        ? inf
        : undefined;
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: async () => describeStatus(await getInference(client, ns, name)),
    },
  );
}
