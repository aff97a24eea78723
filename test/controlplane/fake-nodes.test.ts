import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateFakeGpuNodeSpec } from '../../src/devcluster/fake-nodes.js';
import {
  buildFakeGpuNode,
  FAKE_NODE_TAINT,
  type FakeGpuNodeSpec,
  GPU_LABELS,
  H100_SXM_PRODUCT,
  KWOK_NODE_ANNOTATION,
  L40S_PRODUCT,
  twoPoolCluster,
} from '../../src/devcluster/index.js';
import { kwokConfigYaml } from '../../src/devcluster/kwok-stages.js';

describe('fake GPU node objects', () => {
  it('carry GPU capacity, GFD labels, the kwok annotation and the fake-node taint', () => {
    const node = buildFakeGpuNode(
      { count: 1, gpus: 4, product: 'NVIDIA-A100-SXM4-40GB', memoryMiB: 40960, zone: 'z1' },
      'a100-0',
    );
    expect(node.status?.capacity).toEqual({
      cpu: '96',
      memory: '1024Gi',
      pods: '110',
      'nvidia.com/gpu': '4',
    });
    expect(node.status?.allocatable).toEqual(node.status?.capacity);
    expect(node.metadata?.labels).toMatchObject({
      [GPU_LABELS.product]: 'NVIDIA-A100-SXM4-40GB',
      [GPU_LABELS.memoryMiB]: '40960',
      [GPU_LABELS.count]: '4',
      [GPU_LABELS.present]: 'true',
      'topology.kubernetes.io/zone': 'z1',
      'kubernetes.io/hostname': 'a100-0',
    });
    expect(node.metadata?.labels).not.toHaveProperty(GPU_LABELS.clique);
    expect(node.metadata?.annotations).toEqual({ [KWOK_NODE_ANNOTATION.key]: KWOK_NODE_ANNOTATION.value });
    expect(node.spec?.taints).toEqual([FAKE_NODE_TAINT]);
  });

  it('default to an H100 80GB node and let extra labels override', () => {
    const node = buildFakeGpuNode(
      { count: 1, gpus: 8, clique: 'c7', labels: { 'topology.kubernetes.io/zone': 'custom' } },
      'n-0',
    );
    expect(node.metadata?.labels).toMatchObject({
      [GPU_LABELS.product]: 'NVIDIA-H100-80GB-HBM3',
      [GPU_LABELS.memoryMiB]: '81559',
      [GPU_LABELS.clique]: 'c7',
      'topology.kubernetes.io/zone': 'custom',
    });
  });

  it('form an H100 NVLink pool and an L40S PCIe pool with the labels GFD, NFD and the cloud write', () => {
    const [h100, l40s] = twoPoolCluster(6, 2);
    expect([h100?.count, l40s?.count]).toEqual([6, 2]);
    const h = buildFakeGpuNode(h100 as FakeGpuNodeSpec, 'h100-0').metadata?.labels;
    const l = buildFakeGpuNode(l40s as FakeGpuNodeSpec, 'l40s-0').metadata?.labels;
    expect(h).toMatchObject({
      [GPU_LABELS.product]: H100_SXM_PRODUCT,
      [GPU_LABELS.memoryMiB]: '81559',
      [GPU_LABELS.count]: '8',
      [GPU_LABELS.family]: 'hopper',
      [GPU_LABELS.computeMajor]: '9',
      [GPU_LABELS.computeMinor]: '0',
      'nvidia.com/mig.capable': 'true',
      'node.kubernetes.io/instance-type': 'p5.48xlarge',
      'karpenter.sh/nodepool': 'h100-nvlink',
      'feature.node.kubernetes.io/pci-10de.present': 'true',
      'nvidia.com/cuda.driver-version.full': expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    expect(l).toMatchObject({
      [GPU_LABELS.product]: L40S_PRODUCT,
      [GPU_LABELS.memoryMiB]: '46068',
      [GPU_LABELS.family]: 'ada-lovelace',
      [GPU_LABELS.computeMinor]: '9',
      'nvidia.com/mig.capable': 'false',
      'node.kubernetes.io/instance-type': 'g6e.48xlarge',
      'karpenter.sh/nodepool': 'l40s-pcie',
    });
    // GFD labels multi-node NVLink domains only; a single HGX board has no clique.
    expect(h).not.toHaveProperty(GPU_LABELS.clique);
    // Every label is a valid Kubernetes label (the API server would refuse the node otherwise).
    for (const [k, v] of Object.entries({ ...h, ...l })) {
      expect(k).toMatch(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
      expect(v).toMatch(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/);
    }
  });

  it.each([
    [{ count: 0, gpus: 8 }, 'count must be an integer ≥ 1'],
    [{ count: 1, gpus: -1 }, 'gpus must be an integer ≥ 0'],
    [{ count: 1, gpus: 8, memoryMiB: 0 }, 'memoryMiB must be a positive integer'],
    [{ count: 1, gpus: 8, namePrefix: 'Bad_Name' }, 'namePrefix must be a DNS label'],
  ])('reject %j with a message naming the field', (spec, message) => {
    expect(() => validateFakeGpuNodeSpec(spec)).toThrow(message);
  });
});

describe('kwok stage configuration', () => {
  it('is valid multi-document YAML with node-ready, pod-running and pod-delete stages', () => {
    const docs = parseAllDocuments(kwokConfigYaml()).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string } },
    );
    expect(docs.map((d) => d.kind)).toEqual(['Stage', 'Stage', 'Stage']);
    expect(docs.map((d) => d.metadata.name)).toEqual([
      'tessera-node-ready',
      'tessera-pod-running',
      'tessera-pod-delete',
    ]);
  });
});
