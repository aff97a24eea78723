import { describe, expect, it } from 'vitest';
import { planFor } from '../../src/operator/planning/plan-for.js';
import { renderPlanConfigMap } from '../../src/operator/render/configmap.js';
import { MAX_INFERENCE_NAME_LENGTH, nameProblem, planKey } from '../../src/operator/render/names.js';
import { poolNodeAffinity } from '../../src/operator/render/pod-template.js';
import { renderVolcanoPodGroup } from '../../src/operator/render/podgroup.js';
import { renderPeersService, renderServingService } from '../../src/operator/render/services.js';
import { renderGroup } from '../../src/operator/render/statefulset.js';
import type { Plan } from '../../src/shared/plan/index.js';
import { RUNTIME_ENV } from '../../src/shared/runtime-contract.js';
import { buildInference } from './support/builders.js';

function planOf(spec = buildInference()): Plan {
  const outcome = planFor(spec.spec, {
    gpusPerNode: 8,
    gpuProduct: 'NVIDIA-H100-80GB-HBM3',
    nodesAvailable: 4,
    nvlinkDomains: 0,
    source: 'FromNodes',
    description: 'test',
  });
  if (!('plan' in outcome)) throw new Error(`no plan: ${outcome.rejected.message}`);
  return outcome.plan;
}

const H100_POOL = {
  name: 'h100-nvlink',
  selector: {
    'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
    'nvidia.com/gpu.count': '8',
    'karpenter.sh/nodepool': 'h100-nvlink',
  },
};

const inputs = (plan: Plan) => ({
  plan,
  planHash: 'abc123',
  inputsHash: 'spec1',
  defaultImage: 'tessera:test',
  defaultTolerations: [
    { key: 'kwok.x-k8s.io/node', operator: 'Exists' as const, effect: 'NoSchedule' as const },
  ],
  pool: H100_POOL,
});

describe('renderGroup', () => {
  const inf = buildInference('flux', {
    placement: { exclusiveTopologyKey: 'topology.kubernetes.io/zone', nodeSelector: { pool: 'gpu' } },
    runtime: {
      imagePullPolicy: 'IfNotPresent',
      env: [{ name: 'NCCL_SOCKET_IFNAME', value: 'ib0' }],
      resources: { requests: { cpu: '4', memory: '64Gi' } },
    },
  });
  const plan = planOf(inf);
  const { statefulSet: sts, revision } = renderGroup(inf, 1, inputs(plan));
  const pod = sts.spec.template.spec;
  const container = pod?.containers[0];
  const env = new Map((container?.env ?? []).map((e) => [e.name, e]));

  it('names the group, owns it and runs its pods in parallel with OnDelete updates', () => {
    expect(sts.metadata?.name).toBe('flux-g1');
    expect(sts.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DiTInference', name: 'flux', uid: 'uid-flux', controller: true }),
    ]);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.updateStrategy.type).toBe('OnDelete');
    expect(sts.spec.serviceName).toBe('flux-peers');
    expect(sts.spec.replicas).toBe(plan.podsPerGroup);
    expect(sts.spec.template.metadata?.labels?.['tessera.dev/revision']).toBe(revision);
  });

  it('requests exactly the plan GPUs per pod, next to the user resources', () => {
    const gpus = String(plan.gpusPerPod);
    expect(container?.resources?.limits?.['nvidia.com/gpu']).toBe(gpus);
    expect(container?.resources?.requests).toEqual({ cpu: '4', memory: '64Gi', 'nvidia.com/gpu': gpus });
  });

  it('carries the env contract with the pod index from the downward API', () => {
    expect(env.get(RUNTIME_ENV.groupIndex)?.value).toBe('1');
    expect(env.get(RUNTIME_ENV.podIndex)?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.labels['apps.kubernetes.io/pod-index']",
    );
    expect(env.get(RUNTIME_ENV.rendezvousAddress)?.value).toBe('flux-g1-0.flux-peers.ns1.svc');
    expect(env.get(RUNTIME_ENV.worldSize)?.value).toBe(String(plan.gpusPerGroup));
    expect(env.get(RUNTIME_ENV.podsPerGroup)?.value).toBe(String(plan.podsPerGroup));
    expect(env.get(RUNTIME_ENV.planPath)?.value).toBe('/etc/tessera/plan/plan.json');
    // The user's NCCL interface wins, and appears once; gloo gets the default.
    expect((container?.env ?? []).filter((e) => e.name === 'NCCL_SOCKET_IFNAME')).toEqual([
      { name: 'NCCL_SOCKET_IFNAME', value: 'ib0' },
    ]);
    expect(env.get('GLOO_SOCKET_IFNAME')?.value).toBe('eth0');
  });

  it('mounts its own plan version, a memory-backed /dev/shm and the model read-only', () => {
    const planVolume = pod?.volumes?.find((v) => v.name === 'plan');
    expect(planVolume?.configMap).toEqual({
      name: 'flux-plan',
      items: [{ key: planKey('abc123'), path: 'plan.json' }],
    });
    expect(pod?.volumes?.find((v) => v.name === 'shm')?.emptyDir?.medium).toBe('Memory');
    expect(container?.volumeMounts).toContainEqual({ name: 'shm', mountPath: '/dev/shm' });
    expect(container?.volumeMounts).toContainEqual({
      name: 'model',
      mountPath: '/var/lib/tessera/model',
      readOnly: true,
    });
  });

  it('probes the serving port', () => {
    expect(container?.startupProbe?.httpGet?.port).toBe('http');
    expect(container?.readinessProbe?.httpGet?.port).toBe('http');
    expect(container?.ports).toContainEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
  });

  it('spreads pods one per node and keeps a group inside one exclusive domain', () => {
    const anti = pod?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(anti).toContainEqual({
      labelSelector: { matchLabels: { 'tessera.dev/name': 'flux', 'tessera.dev/group-index': '1' } },
      topologyKey: 'kubernetes.io/hostname',
    });
    expect(anti.some((t) => t.topologyKey === 'topology.kubernetes.io/zone')).toBe(true);
    expect(pod?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      {
        labelSelector: { matchLabels: { 'tessera.dev/name': 'flux', 'tessera.dev/group-index': '1' } },
        topologyKey: 'topology.kubernetes.io/zone',
      },
    ]);
    expect(pod?.nodeSelector).toEqual({ pool: 'gpu' });
    expect(pod?.tolerations).toContainEqual({
      key: 'kwok.x-k8s.io/node',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
  });

  it('pins the pods to their pool: required node affinity on its labels and the user selector', () => {
    expect(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [
        {
          matchExpressions: [
            { key: 'karpenter.sh/nodepool', operator: 'In', values: ['h100-nvlink'] },
            { key: 'nvidia.com/gpu.count', operator: 'In', values: ['8'] },
            { key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-H100-80GB-HBM3'] },
            { key: 'pool', operator: 'In', values: ['gpu'] },
          ],
        },
      ],
    });
    expect(sts.spec.template.metadata?.labels?.['tessera.dev/pool']).toBe('h100-nvlink');
    expect(sts.metadata?.labels?.['tessera.dev/pool']).toBe('h100-nvlink');
    expect(sts.metadata?.annotations?.['tessera.dev/plan-inputs-hash']).toBe('spec1');
  });

  it("adds the pool to every term of the user's own required node affinity", () => {
    const user = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
          { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
        ],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 1, preference: { matchExpressions: [{ key: 'spot', operator: 'DoesNotExist' }] } },
      ],
    };
    const pinned = poolNodeAffinity(user, { 'nvidia.com/gpu.product': 'NVIDIA-L40S' }, {});
    expect(pinned?.preferredDuringSchedulingIgnoredDuringExecution).toEqual(
      user.preferredDuringSchedulingIgnoredDuringExecution,
    );
    expect(pinned?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual(
      ['a', 'b'].map((zone) => ({
        matchExpressions: [
          { key: 'zone', operator: 'In', values: [zone] },
          { key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-L40S'] },
        ],
      })),
    );
    // Nothing to pin (a pool from spec.topology with no selector): the user's affinity as it is.
    expect(poolNodeAffinity(user, {}, {})).toBe(user);
  });

  it('changes revision when the spec changes what pods run, and not otherwise', () => {
    const again = renderGroup(inf, 1, inputs(plan));
    expect(again.revision).toBe(revision);
    const changed = buildInference('flux', {
      ...inf.spec,
      runtime: { ...inf.spec.runtime, image: 'other:1' },
    });
    expect(renderGroup(changed, 1, inputs(plan)).revision).not.toBe(revision);
    const scaled = buildInference('flux', { ...inf.spec, replicas: 5 });
    expect(renderGroup(scaled, 1, inputs(plan)).revision).toBe(revision);
  });
});

describe('services and plan ConfigMap', () => {
  const inf = buildInference('flux');
  it('publishes not-ready peers on a headless Service', () => {
    const svc = renderPeersService(inf);
    expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  });
  it('serves through the leaders (pod index 0) only', () => {
    expect(renderServingService(inf).spec.selector).toEqual({
      'tessera.dev/name': 'flux',
      'apps.kubernetes.io/pod-index': '0',
    });
  });
  it('keeps the best pool plan under plan.json, every plan a group runs under its hash, and the pool index', () => {
    const plan = planOf();
    const old = { ...plan, reason: 'older' };
    const cm = renderPlanConfigMap(inf, {
      primary: plan,
      byHash: new Map([
        ['new', plan],
        ['old', old],
      ]),
      poolPlans: new Map([['h100-nvlink', 'new']]),
      inputsHash: 'h',
    });
    expect(Object.keys(cm.data).sort()).toEqual(['plan-new.json', 'plan-old.json', 'plan.json']);
    expect(JSON.parse(cm.data['plan.json'] ?? '')).toEqual(plan);
    expect(JSON.parse(cm.data['plan-old.json'] ?? '').reason).toBe('older');
    expect(cm.metadata?.annotations).toEqual({
      'tessera.dev/plan-inputs-hash': 'h',
      'tessera.dev/pool-plans': '{"h100-nvlink":"new"}',
    });
  });
});

describe('gang scheduling', () => {
  it('gives each group a Volcano PodGroup of all its pods and GPUs, and the pods its name', () => {
    const inf = buildInference('flux', {
      parallelism: { mode: 'Auto', objective: 'Latency', gpusPerGroup: 16 },
      placement: { gang: { provider: 'Volcano', queueName: 'gpu' } },
    });
    const plan = planOf(inf);
    const pg = renderVolcanoPodGroup(inf, 2, plan);
    expect(pg.metadata?.name).toBe('flux-g2');
    expect(pg.spec).toEqual({
      minMember: plan.podsPerGroup,
      minResources: { 'nvidia.com/gpu': '16' },
      queue: 'gpu',
    });
    const template = renderGroup(inf, 2, inputs(plan)).statefulSet.spec.template;
    expect(template.metadata?.annotations?.['scheduling.k8s.io/group-name']).toBe('flux-g2');
    expect(template.spec?.schedulerName).toBe('volcano');
  });
  it('labels Kueue pod groups with their size and queue', () => {
    const inf = buildInference('flux', { placement: { gang: { provider: 'Kueue', queueName: 'lq' } } });
    const plan = planOf(inf);
    const template = renderGroup(inf, 0, inputs(plan)).statefulSet.spec.template;
    expect(template.metadata?.labels).toMatchObject({
      'kueue.x-k8s.io/pod-group-name': 'flux-g0',
      'kueue.x-k8s.io/queue-name': 'lq',
    });
    expect(template.metadata?.annotations?.['kueue.x-k8s.io/pod-group-total-count']).toBe(
      String(plan.podsPerGroup),
    );
  });
});

describe('nameProblem', () => {
  it('accepts DNS-1035 labels up to the length the derived names allow', () => {
    expect(nameProblem('flux-dev')).toBeUndefined();
    expect(nameProblem(`f${'x'.repeat(MAX_INFERENCE_NAME_LENGTH - 1)}`)).toBeUndefined();
  });
  it('refuses a dotted name, naming the Services it cannot name and a valid alternative', () => {
    expect(nameProblem('flux.dev')).toBe(
      "metadata.name 'flux.dev' cannot name the Services flux.dev and flux.dev-peers: a Service name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, no dots); rename the object, e.g. 'flux-dev'",
    );
    expect(nameProblem('9lives')).toMatch(/DNS-1035 label.*e\.g\. 'lives'/);
    expect(nameProblem('Flux')).toMatch(/e\.g\. 'flux'/);
  });
  it('refuses a name too long for the pods and labels derived from it', () => {
    const long = `f${'x'.repeat(63)}`;
    expect(nameProblem(long)).toMatch(/has 64 characters; at most 42 .* use a shorter name/);
  });
});
