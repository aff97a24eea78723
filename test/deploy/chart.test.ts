import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeClient } from '../../src/operator/kube/client.js';
import { RESOURCES } from '../../src/operator/kube/resources.js';
import { renderDisruptionBudget } from '../../src/operator/render/disruption-budget.js';
import { buildInference, minimalInference } from '../operator/support/builders.js';
import {
  kubectlOk,
  listByName,
  provideClaim,
  readExample,
  testClient,
  waitInferenceReady,
} from '../operator/support/cluster.js';
import { ensureBuilt, OperatorProcess } from '../operator/support/operator-process.js';
import { createNamespace, eventually, useControlPlane } from '../support/controlplane.js';
import { RecordingProxy } from './support/recording-proxy.js';
import { deployTool, REPO_ROOT, runTool } from './support/tools.js';

/**
 * The Helm chart against the real control plane: lint, template, install; then the operator runs with
 * the chart's ServiceAccount's own token (through a recording proxy) and reconciles every example to
 * Ready, scales, recreates a group and deletes, and the verbs it used must be exactly the chart's.
 */
const RELEASE = 'tessera';
const NAMESPACE = 'tessera-system';
const SERVICE_ACCOUNT = 'tessera-operator';
const CHART = join(REPO_ROOT, 'charts/tessera');

const cluster = useControlPlane({
  nodes: [
    { namePrefix: 'h100', count: 6, gpus: 8, product: 'NVIDIA-H100-80GB-HBM3', memoryMiB: 81559 },
    { namePrefix: 'l40s', count: 2, gpus: 8, product: 'NVIDIA-L40S', memoryMiB: 46068 },
  ],
});
const work = mkdtempSync(join(tmpdir(), 'tessera-chart-test-'));
let client: KubeClient;

async function helm(args: string[]) {
  return runTool(deployTool('helm'), [...args, '--kubeconfig', cluster().kubeconfigPath], {
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(work, 'helm-cache'),
      HELM_CONFIG_HOME: join(work, 'helm-config'),
    },
    timeoutMs: 180_000,
  });
}

/** The parts of rendered objects the test reads. */
interface RenderedObject {
  kind: string;
  spec: {
    selector?: unknown;
    template: { spec: { serviceAccountName?: string; containers: { image: string; args: string[] }[] } };
  };
}

/** `group/resource verb` for every rule of the rendered ClusterRole and Role. */
function grantedVerbs(rendered: string): Set<string> {
  const granted = new Set<string>();
  for (const doc of parseAllDocuments(rendered)) {
    const obj = doc.toJS() as {
      kind?: string;
      rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    if (obj?.kind !== 'ClusterRole' && obj?.kind !== 'Role') continue;
    for (const rule of obj.rules ?? [])
      for (const g of rule.apiGroups)
        for (const r of rule.resources) for (const v of rule.verbs) granted.add(`${g}/${r} ${v}`);
  }
  return granted;
}

/** What scripts/build-images tags: its default registry and the package version. */
function buildImagesTags(): { operator: string; runtime: string } {
  const script = readFileSync(join(REPO_ROOT, 'scripts/build-images'), 'utf8');
  const registry = /registry="\$\{TESSERA_IMAGE_REGISTRY:-([^}]+)\}"/.exec(script)?.[1];
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  if (!registry) throw new Error('scripts/build-images names no default registry');
  return {
    operator: `${registry}/tessera-operator:${version}`,
    runtime: `${registry}/tessera-runtime:${version}`,
  };
}

beforeAll(async () => {
  ensureBuilt();
  client = await testClient(cluster());
});

afterAll(() => client?.close());

describe('the Helm chart', () => {
  let rendered = '';

  it('passes helm lint', async () => {
    const out = await helm(['lint', CHART]);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('templates the images scripts/build-images tags, a PodDisruptionBudget and the operator flags', async () => {
    const out = await helm(['template', RELEASE, CHART, '-n', NAMESPACE]);
    expect(out.code, out.stderr).toBe(0);
    rendered = out.stdout;
    const docs = parseAllDocuments(rendered).map((d) => d.toJS() as RenderedObject);
    const kinds = docs.map((d) => d.kind).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    const tags = buildImagesTags();
    const deployment = docs.find((d) => d.kind === 'Deployment');
    const container = deployment?.spec.template.spec.containers[0];
    if (!container) throw new Error('the chart renders no operator container');
    expect(container.image).toBe(tags.operator);
    expect(container.args).toContain(`--runtime-image=${tags.runtime}`);
    expect(deployment?.spec.template.spec.serviceAccountName).toBe(SERVICE_ACCOUNT);
    const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget');
    expect(pdb?.spec).toEqual({ maxUnavailable: 1, selector: deployment?.spec.selector });

    const overridden = await helm([
      'template',
      RELEASE,
      CHART,
      '-n',
      NAMESPACE,
      '--set',
      'image.operator.repository=registry.example/tessera-operator',
      '--set',
      'image.operator.tag=dev',
      '--set',
      'image.runtime.repository=registry.example/tessera-runtime',
      '--set',
      'imagePullSecrets[0].name=regcred',
    ]);
    expect(overridden.stdout).toContain('image: registry.example/tessera-operator:dev');
    expect(overridden.stdout).toContain('--runtime-image=registry.example/tessera-runtime:0.1.0');
    expect(overridden.stdout).toMatch(/imagePullSecrets:\n\s+- name: regcred/);
  });

  it('installs with helm install: the CRD, RBAC and the operator, with NOTES free of placeholders', async () => {
    const out = await helm(['install', RELEASE, CHART, '-n', NAMESPACE, '--create-namespace']);
    expect(out.code, out.stderr).toBe(0);
    const notes = out.stdout.slice(out.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`Tessera operator 0.1.0 is installed in namespace ${NAMESPACE}`);
    expect(notes).toContain(buildImagesTags().runtime);
    expect(notes).not.toMatch(/<[^>]*>|\.\.\.|TODO|https?:\/\/\S*\.\.\./);
    const status = await helm(['status', RELEASE, '-n', NAMESPACE, '-o', 'json']);
    expect((JSON.parse(status.stdout) as { info: { status: string } }).info.status).toBe('deployed');
    await kubectlOk(cluster(), [
      'wait',
      '--for=condition=Established',
      'crd/ditinferences.tessera.dev',
      '--timeout=60s',
    ]);
    for (const [kind, name, ns] of [
      ['serviceaccount', SERVICE_ACCOUNT, NAMESPACE],
      ['clusterrole', SERVICE_ACCOUNT, ''],
      ['role', `${SERVICE_ACCOUNT}-leader-election`, NAMESPACE],
      ['deployment', SERVICE_ACCOUNT, NAMESPACE],
      ['poddisruptionbudget', SERVICE_ACCOUNT, NAMESPACE],
    ] as const) {
      await kubectlOk(cluster(), ['get', kind, name, ...(ns ? ['-n', ns] : [])]);
    }
  });

  describe('RBAC, proven by running the operator as the chart ServiceAccount', () => {
    let proxy: RecordingProxy;
    let operator: OperatorProcess;

    beforeAll(async () => {
      const token = (
        await kubectlOk(cluster(), ['create', 'token', SERVICE_ACCOUNT, '-n', NAMESPACE, '--duration=2h'])
      ).trim();
      const ca = cluster().kubeConfig().getCurrentCluster()?.caData;
      if (!ca) throw new Error('the control plane kubeconfig has no CA data');
      proxy = await RecordingProxy.start(cluster().server, Buffer.from(ca, 'base64'));
      const kubeconfig = join(work, 'operator-sa.kubeconfig');
      writeFileSync(
        kubeconfig,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          // Plain HTTP to the loopback proxy (which speaks TLS to the API server); client-node accepts an
          // http server only with this flag set, and there is no certificate to skip on that hop.
          clusters: [{ name: 'local', cluster: { server: proxy.url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: SERVICE_ACCOUNT, user: { token } }],
          contexts: [{ name: 'sa', context: { cluster: 'local', user: SERVICE_ACCOUNT } }],
          'current-context': 'sa',
        }),
      );
      await kubectlOk(cluster(), ['create', 'priorityclass', 'inference-high', '--value=1000']);
      operator = await OperatorProcess.start({
        kubeconfigPath: kubeconfig,
        logFile: join(work, 'operator.log'),
        args: ['--leader-elect=true', `--leader-election-namespace=${NAMESPACE}`, '--resync-period', '30s'],
      });
    });

    afterAll(async () => {
      await operator?.stop();
      await proxy?.close();
    });

    const waitReady = (ns: string, name: string) => waitInferenceReady(client, ns, name);

    it('reconciles every example to Ready, scales, recreates a group and deletes with no request refused', async () => {
      const ns = await createNamespace(cluster(), 'rbac');
      await provideClaim(cluster(), ns, 'models');
      await provideClaim(cluster(), ns, 'finetunes');
      const examples = [
        'flux-dev-h100-nvlink.yaml',
        'sd3-medium-manual.yaml',
        'custom-checkpoint.yaml',
        'pixart-sigma-l40s-pcie.yaml',
      ];
      for (const file of examples) {
        const inf = readExample(file);
        await kubectlOk(cluster(), ['apply', '--server-side', '-n', ns, '-f', '-'], stringify(inf));
        await waitReady(ns, inf.metadata.name ?? '');
      }
      // Scale down: a whole group (StatefulSet) is deleted.
      await kubectlOk(cluster(), ['scale', 'ditinference/flux-dev', '-n', ns, '--replicas=1']);
      await eventually('flux-dev has one group', async () =>
        (await listByName<V1StatefulSet>(client, RESOURCES.statefulSet, ns, 'flux-dev')).length === 1
          ? true
          : undefined,
      );
      // Group recreation: deleting one pod of a two-pod group makes the operator delete the other.
      await kubectlOk(
        cluster(),
        ['apply', '--server-side', '-n', ns, '-f', '-'],
        stringify(minimalInference('two-pods', 16)),
      );
      await waitReady(ns, 'two-pods');
      const pods = await listByName<V1Pod>(client, RESOURCES.pod, ns, 'two-pods');
      expect(pods.length).toBeGreaterThan(1);
      const uids = new Set(pods.map((p) => p.metadata?.uid));
      await kubectlOk(cluster(), ['delete', 'pod', pods[0]?.metadata?.name ?? '', '-n', ns, '--wait=false']);
      await eventually('every two-pods pod is replaced', async () => {
        const now = await listByName<V1Pod>(client, RESOURCES.pod, ns, 'two-pods');
        return now.length === pods.length && now.every((p) => !uids.has(p.metadata?.uid)) ? true : undefined;
      });
      await waitReady(ns, 'two-pods');
      // Deletion: the garbage collector removes the children; the operator forgets the object.
      await kubectlOk(cluster(), ['delete', 'ditinference', '--all', '-n', ns, '--wait=false']);
      await eventually('every pod of the namespace is gone', async () =>
        (await client.list(RESOURCES.pod, { namespace: ns })).items.length === 0 ? true : undefined,
      );
      expect(proxy.forbidden()).toEqual([]);
      // Every example through the real controllers and back: 44 s on a quiet run here, too close to
      // the default 60 s on a slower CI machine.
    }, 180_000);

    it('used exactly the verbs the chart grants', () => {
      // Every kind the operator talks to must be accounted for here, so the chart follows a new one.
      expect(
        Object.values(RESOURCES)
          .map((r) => `${r.group}/${r.plural}`)
          .sort(),
      ).toEqual(
        [
          'apps/statefulsets',
          'coordination.k8s.io/leases',
          'networking.k8s.io/networkpolicies',
          'policy/poddisruptionbudgets',
          'scheduling.volcano.sh/podgroups',
          'tessera.dev/ditinferences',
          '/configmaps',
          '/events',
          '/nodes',
          '/pods',
          '/secrets',
          '/services',
        ].sort(),
      );
      const used = proxy.usedVerbs();
      // Owner references with blockOwnerDeletion need update on the owner's finalizers where the
      // OwnerReferencesPermissionEnforcement admission plugin runs (not in this control plane).
      const owner = renderDisruptionBudget(buildInference()).metadata?.ownerReferences?.[0];
      if (owner?.blockOwnerDeletion) used.add('tessera.dev/ditinferences/finalizers update');
      const granted = grantedVerbs(rendered);
      console.log(`verbs the operator used as ${SERVICE_ACCOUNT}: ${[...used].sort().join(', ')}`);
      expect([...used].sort()).toEqual([...granted].sort());
    });
  });
});
