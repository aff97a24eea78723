import { describe, expect, it } from 'vitest';
import { planFor } from '../../src/operator/planning/plan-for.js';
import { renderDisruptionBudget } from '../../src/operator/render/disruption-budget.js';
import { hubCacheDirectory, MODEL_FETCH_CONTAINER } from '../../src/operator/render/model-fetch.js';
import { renderGroup } from '../../src/operator/render/statefulset.js';
import type { DiTInferenceSpec } from '../../src/shared/api/v1alpha1/index.js';
import { MODEL_MOUNT_DIR, PLAN_MOUNT_DIR, RUNTIME_ENV } from '../../src/shared/runtime-contract.js';
import { buildInference } from '../operator/support/builders.js';
import { H100_TOPOLOGY } from './support/status-scenarios.js';

function render(spec: Partial<DiTInferenceSpec>) {
  const inf = buildInference('flux', spec);
  const out = planFor(inf.spec, H100_TOPOLOGY);
  if (!('plan' in out)) throw new Error('no plan');
  const group = renderGroup(inf, 0, {
    plan: out.plan,
    planHash: 'h',
    inputsHash: 'spec',
    defaultImage: 'runtime:1',
    defaultTolerations: [],
    pool: { name: 'h100', selector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } },
  });
  return { inf, pod: group.statefulSet.spec.template.spec };
}

const hub = {
  repository: 'black-forest-labs/FLUX.1-dev',
  revision: 'main',
  endpoint: 'https://huggingface.co',
  cacheHostPath: '/var/lib/tessera/hub-cache',
  tokenSecretRef: { name: 'hf-token', key: 'token' },
};

describe('group pods of a hub-sourced model', () => {
  it('run tessera fetch-model as an init container into the node cache the runtime then reads', () => {
    const { pod } = render({
      model: { architecture: 'flux-dev', dtype: 'bf16', source: { hub } },
    });
    const init = pod?.initContainers?.[0];
    expect(init?.name).toBe(MODEL_FETCH_CONTAINER);
    expect(init?.image).toBe('runtime:1');
    expect(init?.command).toEqual(['tessera', 'fetch-model']);
    expect(init?.args).toEqual([
      '--repository=black-forest-labs/FLUX.1-dev',
      '--revision=main',
      '--endpoint=https://huggingface.co',
      `--dest=${MODEL_MOUNT_DIR}`,
    ]);
    const env = new Map((init?.env ?? []).map((e) => [e.name, e]));
    expect(env.get('HF_TOKEN')?.valueFrom).toEqual({ secretKeyRef: { name: 'hf-token', key: 'token' } });
    // The env contract tells the downloader its plan and pod, so it fetches this pod's stages only.
    expect(env.get(RUNTIME_ENV.planPath)?.value).toBe(`${PLAN_MOUNT_DIR}/plan.json`);
    expect(env.get(RUNTIME_ENV.podIndex)?.valueFrom?.fieldRef?.fieldPath).toContain('pod-index');
    expect(init?.terminationMessagePath).toBe('/dev/termination-log');
    expect(init?.volumeMounts).toContainEqual({ name: 'model', mountPath: MODEL_MOUNT_DIR });
    expect(pod?.volumes).toContainEqual({
      name: 'model',
      hostPath: {
        path: '/var/lib/tessera/hub-cache/black-forest-labs--FLUX.1-dev/main',
        type: 'DirectoryOrCreate',
      },
    });
    const runtime = pod?.containers[0];
    expect(runtime?.volumeMounts).toContainEqual({
      name: 'model',
      mountPath: MODEL_MOUNT_DIR,
      readOnly: true,
    });
  });

  it('keep repository and revision apart in the cache and never leave it', () => {
    expect(hubCacheDirectory({ ...hub, revision: 'refs/pr/12' })).toBe(
      '/var/lib/tessera/hub-cache/black-forest-labs--FLUX.1-dev/refs_pr_12',
    );
    expect(hubCacheDirectory({ ...hub, repository: 'a/..', cacheHostPath: '/cache/' })).toBe(
      '/cache/a--../main',
    );
  });

  it('other sources get no init container', () => {
    expect(render({}).pod?.initContainers).toBeUndefined();
  });
});

describe('operations fields pass through to every group pod', () => {
  it('imagePullSecrets, priorityClassName and the node selector', () => {
    const { pod } = render({
      runtime: { imagePullPolicy: 'Always', imagePullSecrets: [{ name: 'registry-creds' }] },
      placement: { priorityClassName: 'inference-high', nodeSelector: { pool: 'h100' } },
    });
    expect(pod?.imagePullSecrets).toEqual([{ name: 'registry-creds' }]);
    expect(pod?.priorityClassName).toBe('inference-high');
    expect(pod?.nodeSelector).toEqual({ pool: 'h100' });
  });
});

describe('PodDisruptionBudget', () => {
  it('lets evictions take at most one pod, hence one group, of the object at a time', () => {
    const inf = buildInference('flux', { replicas: 3 });
    const pdb = renderDisruptionBudget(inf);
    expect(pdb).toMatchObject({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: 'flux',
        namespace: 'ns1',
        ownerReferences: [{ kind: 'DiTInference', uid: 'uid-flux', controller: true }],
      },
      spec: {
        maxUnavailable: 1,
        selector: { matchLabels: { 'tessera.dev/name': 'flux' } },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });
  });
});
