import { AppsV1Api, CoreV1Api, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FAKE_NODE_TAINT, GPU_LABELS, GPU_RESOURCE } from '../../src/devcluster/index.js';
import { createNamespace, eventually, useControlPlane } from '../support/controlplane.js';

// Two 8-GPU nodes: a real apiserver, controller-manager and scheduler, with kwok as the kubelets.
const cluster = useControlPlane({
  nodes: [
    {
      namePrefix: 'h100',
      count: 2,
      gpus: 8,
      product: 'NVIDIA-H100-80GB-HBM3',
      clique: 'nvl-a',
      zone: 'zone-a',
    },
  ],
});

function gpuWorkerSet(name: string, replicas: number, gpus: number): V1StatefulSet {
  const labels = { app: name };
  return {
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          tolerations: [{ ...FAKE_NODE_TAINT, operator: 'Equal' }],
          containers: [
            {
              name: 'worker',
              image: 'tessera/worker:test',
              resources: { limits: { [GPU_RESOURCE]: String(gpus) } },
            },
          ],
        },
      },
    },
  };
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe('local control plane with fake GPU nodes', () => {
  it('creates fake nodes with GPU capacity, GFD labels and the fake-node taint, and they are Ready', async () => {
    const core = cluster().kubeConfig().makeApiClient(CoreV1Api);
    const nodes = (await core.listNode()).items;
    expect(nodes.map((n) => n.metadata?.name).sort()).toEqual(['h100-0', 'h100-1']);
    for (const node of nodes) {
      expect(node.status?.capacity?.[GPU_RESOURCE]).toBe('8');
      expect(node.status?.allocatable?.[GPU_RESOURCE]).toBe('8');
      expect(node.metadata?.labels).toMatchObject({
        [GPU_LABELS.product]: 'NVIDIA-H100-80GB-HBM3',
        [GPU_LABELS.count]: '8',
        [GPU_LABELS.memoryMiB]: '81559',
        [GPU_LABELS.clique]: 'nvl-a',
        'topology.kubernetes.io/zone': 'zone-a',
        'kubernetes.io/hostname': node.metadata?.name,
      });
      expect(node.spec?.taints).toContainEqual(expect.objectContaining(FAKE_NODE_TAINT));
      expect(node.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
    }
  });

  it('runs a GPU StatefulSet: one 8-GPU pod per node, each Running and Ready', async () => {
    const kc = cluster().kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await createNamespace(cluster(), 'sts');
    await apps.createNamespacedStatefulSet({ namespace, body: gpuWorkerSet('group', 2, 8) });

    const pods = await eventually(
      'both StatefulSet pods are Ready',
      async () => {
        const list = (await core.listNamespacedPod({ namespace, labelSelector: 'app=group' })).items;
        return list.length === 2 && list.every(isReady) ? list : undefined;
      },
      {
        describe: async () =>
          (await cluster().kubectl(['get', 'pods', '-n', namespace, '-o', 'wide'])).stdout,
      },
    );
    expect(pods.map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
    // 8 GPUs each on 8-GPU nodes: the scheduler must have put them on different nodes.
    expect(new Set(pods.map((p) => p.spec?.nodeName))).toEqual(new Set(['h100-0', 'h100-1']));

    const sts = await eventually('the StatefulSet reports 2 ready replicas', async () => {
      const s = await apps.readNamespacedStatefulSet({ name: 'group', namespace });
      return s.status?.readyReplicas === 2 ? s : undefined;
    });
    expect(sts.status?.replicas).toBe(2);

    // Deleting the StatefulSet must garbage-collect its pods (controller-manager GC + kwok's pod deletion).
    await apps.deleteNamespacedStatefulSet({ name: 'group', namespace });
    await eventually('the pods are garbage-collected', async () => {
      const list = (await core.listNamespacedPod({ namespace })).items;
      return list.length === 0 ? true : undefined;
    });
  });

  it('leaves a pod that needs more GPUs than any node has Pending, with the scheduler saying why', async () => {
    const core = cluster().kubeConfig().makeApiClient(CoreV1Api);
    const namespace = await createNamespace(cluster(), 'toobig');
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'sixteen-gpus' },
        spec: {
          tolerations: [{ ...FAKE_NODE_TAINT, operator: 'Equal' }],
          containers: [
            { name: 'worker', image: 'tessera/worker:test', resources: { limits: { [GPU_RESOURCE]: '16' } } },
          ],
        },
      },
    });

    const condition = await eventually('the scheduler marks the pod unschedulable', async () => {
      const pod = await core.readNamespacedPod({ name: 'sixteen-gpus', namespace });
      return pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(condition.reason).toBe('Unschedulable');
    expect(condition.message).toContain(`Insufficient ${GPU_RESOURCE}`);

    const pod = await core.readNamespacedPod({ name: 'sixteen-gpus', namespace });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.spec?.nodeName).toBeUndefined();

    const events = await eventually('a FailedScheduling event is recorded', async () => {
      const list = (await core.listNamespacedEvent({ namespace })).items;
      const failed = list.filter(
        (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'sixteen-gpus',
      );
      return failed.length > 0 ? failed : undefined;
    });
    expect(events[0]?.message).toContain(`Insufficient ${GPU_RESOURCE}`);
  });

  it('restarts kube-apiserver on the same address, keeping the stored objects', async () => {
    const cp = cluster();
    const namespace = await createNamespace(cp, 'restart');
    const created = await cp.kubectl(['create', 'configmap', 'kept', '-n', namespace, '--from-literal=k=v']);
    expect(created.code).toBe(0);
    const serverBefore = cp.server;
    const pidBefore = cp.processes.find((p) => p.component === 'kube-apiserver')?.pid;

    await cp.restartApiServer();

    expect(cp.server).toBe(serverBefore);
    expect(cp.processes.find((p) => p.component === 'kube-apiserver')?.pid).not.toBe(pidBefore);
    const read = await cp.kubectl(['get', 'configmap', 'kept', '-n', namespace, '-o', 'jsonpath={.data.k}']);
    expect(read).toMatchObject({ code: 0, stdout: 'v' });
    // The other components reconnect: a new pod still gets scheduled and made Ready.
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'after-restart' },
        spec: {
          tolerations: [{ ...FAKE_NODE_TAINT, operator: 'Equal' }],
          containers: [
            { name: 'worker', image: 'tessera/worker:test', resources: { limits: { [GPU_RESOURCE]: '1' } } },
          ],
        },
      },
    });
    await eventually('the pod created after the restart is Ready', async () => {
      const pod = await core.readNamespacedPod({ name: 'after-restart', namespace });
      return isReady(pod) ? pod : undefined;
    });
  });

  it('adds more fake nodes later, numbering on per prefix, and they become Ready', async () => {
    const cp = cluster();
    const spec = { namePrefix: 'l40s', count: 1, gpus: 4, product: 'NVIDIA-L40S', memoryMiB: 46_068 };
    expect(await cp.addGpuNodes(spec)).toEqual(['l40s-0']);
    expect(await cp.addGpuNodes(spec)).toEqual(['l40s-1']);
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const node = await core.readNode({ name: 'l40s-1' });
    expect(node.status?.capacity?.[GPU_RESOURCE]).toBe('4');
    expect(node.metadata?.labels?.[GPU_LABELS.product]).toBe('NVIDIA-L40S');
    expect(node.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    );
  });

  it('runs the built kubectl at the pinned Kubernetes version against the cluster', async () => {
    const res = await cluster().kubectl(['version', '-o', 'json']);
    expect(res.code).toBe(0);
    const versions = JSON.parse(res.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(versions.clientVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(versions.serverVersion.gitVersion).toBe(versions.clientVersion.gitVersion);
  });
});
