import { describe, expect, it } from 'vitest';
import { podCouldLandOn } from '../../src/operator/topology/node-match.js';
import { resolveTopology } from '../../src/operator/topology/resolve.js';
import { quantityValue as parseQuantity } from '../../src/shared/api/v1alpha1/index.js';
import { buildNode } from './support/builders.js';

const H100 = 'NVIDIA-H100-80GB-HBM3';

describe('podCouldLandOn', () => {
  const tainted = buildNode('n', {
    taints: [{ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' }],
  });
  it('needs a toleration for every blocking taint', () => {
    expect(podCouldLandOn(tainted, {}, [])).toBe(false);
    expect(podCouldLandOn(tainted, {}, [{ key: 'kwok.x-k8s.io/node', operator: 'Exists' }])).toBe(true);
    expect(
      podCouldLandOn(tainted, {}, [{ key: 'kwok.x-k8s.io/node', operator: 'Equal', value: 'other' }]),
    ).toBe(false);
  });
  it('ignores PreferNoSchedule taints and honours the node selector and readiness', () => {
    const soft = buildNode('n', {
      taints: [{ key: 'x', effect: 'PreferNoSchedule' }],
      labels: { pool: 'a' },
    });
    expect(podCouldLandOn(soft, { pool: 'a' }, [])).toBe(true);
    expect(podCouldLandOn(soft, { pool: 'b' }, [])).toBe(false);
    expect(podCouldLandOn(buildNode('n', { ready: false }), {}, [])).toBe(false);
  });
});

describe('resolveTopology', () => {
  it('reads GPUs, product and memory from the largest class of nodes', () => {
    const nodes = [
      buildNode('a', { gpus: 8, product: H100, memoryMiB: 81559 }),
      buildNode('b', { gpus: 8, product: H100, memoryMiB: 81559 }),
      buildNode('odd', { gpus: 4, product: 'NVIDIA-L40S' }),
      buildNode('cpu', { gpus: 0 }),
    ];
    const out = resolveTopology(nodes, undefined);
    expect(out).toMatchObject({
      resolved: {
        gpusPerNode: 8,
        gpuProduct: H100,
        nodesAvailable: 2,
        gpuMemoryBytes: 81559 * 2 ** 20,
        source: 'FromNodes',
      },
    });
  });
  it('lets spec.topology override node values field by field', () => {
    const out = resolveTopology([buildNode('a', { gpus: 8, product: H100 })], {
      gpusPerNode: 4,
      gpuMemory: '40Gi',
    });
    expect(out).toMatchObject({
      resolved: { gpusPerNode: 4, gpuProduct: H100, gpuMemoryBytes: 40 * 2 ** 30 },
    });
  });
  it('plans from spec.topology alone when no node exists yet (autoscaling from zero)', () => {
    const out = resolveTopology([], { gpusPerNode: 8, gpuProduct: H100 });
    expect(out).toMatchObject({ resolved: { gpusPerNode: 8, gpuProduct: H100, source: 'FromSpec' } });
    expect('resolved' in out ? out.resolved.nodesAvailable : 'unresolved').toBeUndefined();
  });
  it('says which spec.topology fields to set when nothing is known', () => {
    const out = resolveTopology([], undefined);
    expect(out).toEqual({
      unresolved: expect.stringContaining('set spec.topology.gpusPerNode and spec.topology.gpuProduct'),
    });
    const unlabelled = resolveTopology([buildNode('a', { gpus: 8 })], undefined);
    expect(unlabelled).toEqual({ unresolved: expect.stringContaining('set spec.topology.gpuProduct') });
  });
  it('reads NVLink from GPU Feature Discovery clique labels', () => {
    const nodes = ['a', 'b'].map((n) =>
      buildNode(n, { gpus: 4, product: 'NVIDIA-GB200', labels: { 'nvidia.com/gpu.clique': 'fabric-1.0' } }),
    );
    expect(resolveTopology(nodes, undefined)).toMatchObject({
      resolved: {
        intraNodeLink: 'NVLink',
        nvlinkDomains: 1,
        description: expect.stringContaining('1 NVLink domain'),
      },
    });
    expect(resolveTopology(nodes, { intraNodeLink: 'PCIe' })).toMatchObject({
      resolved: { intraNodeLink: 'PCIe' },
    });
  });
  it('parses quantities', () => {
    expect(parseQuantity('80Gi')).toBe(80 * 2 ** 30);
    expect(parseQuantity('1.5G')).toBe(1.5e9);
    expect(() => parseQuantity('eighty')).toThrow(/not a Kubernetes quantity/);
  });
});
