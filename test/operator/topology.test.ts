import { describe, expect, it } from 'vitest';
import { discoverPools, type GpuPool } from '../../src/operator/pools/pool.js';
import { nodeAffinityAllows, podCouldLandOn } from '../../src/operator/topology/node-match.js';
import { poolTopology, specTopology } from '../../src/operator/topology/resolve.js';
import { quantityValue as parseQuantity } from '../../src/shared/api/v1alpha1/index.js';
import { buildNode } from './support/builders.js';
import { H100, h100Nodes, L40S } from './support/placement.js';

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

describe('nodeAffinityAllows', () => {
  const node = buildNode('n1', { labels: { zone: 'a', gen: '5' } });
  const term = (...matchExpressions: { key: string; operator: string; values?: string[] }[]) => ({
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] },
    },
  });
  it('applies the scheduler operators, ANDs a term and ORs terms', () => {
    expect(nodeAffinityAllows(node, undefined)).toBe(true);
    expect(nodeAffinityAllows(node, term({ key: 'zone', operator: 'In', values: ['a', 'b'] }))).toBe(true);
    expect(nodeAffinityAllows(node, term({ key: 'zone', operator: 'NotIn', values: ['a'] }))).toBe(false);
    expect(nodeAffinityAllows(node, term({ key: 'spot', operator: 'DoesNotExist' }))).toBe(true);
    expect(nodeAffinityAllows(node, term({ key: 'gen', operator: 'Gt', values: ['4'] }))).toBe(true);
    expect(
      nodeAffinityAllows(
        node,
        term({ key: 'zone', operator: 'Exists' }, { key: 'gen', operator: 'Lt', values: ['5'] }),
      ),
    ).toBe(false);
    const either = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
          ],
        },
      },
    };
    expect(nodeAffinityAllows(node, either)).toBe(true);
  });
});

describe('poolTopology', () => {
  const [h100] = discoverPools(h100Nodes(3));
  const pool = h100 as GpuPool;
  it('reads GPUs, product and memory from the pool, with the nodes this object may use', () => {
    expect(poolTopology(pool, 2, undefined)).toMatchObject({
      resolved: {
        gpusPerNode: 8,
        gpuProduct: H100,
        nodesAvailable: 2,
        gpuMemoryBytes: 81559 * 2 ** 20,
        source: 'FromNodes',
      },
    });
  });
  it('lets spec.topology override the pool field by field', () => {
    expect(poolTopology(pool, 3, { gpusPerNode: 4, gpuMemory: '40Gi', intraNodeLink: 'PCIe' })).toMatchObject(
      {
        resolved: { gpusPerNode: 4, gpuProduct: H100, gpuMemoryBytes: 40 * 2 ** 30, intraNodeLink: 'PCIe' },
      },
    );
  });
  it('rules out a pool of another product or with fewer GPUs than spec.topology asks for', () => {
    expect(poolTopology(pool, 3, { gpuProduct: L40S })).toEqual({
      unusable: `its GPUs are ${H100}, spec.topology.gpuProduct asks for ${L40S}`,
    });
    expect(poolTopology(pool, 3, { gpusPerNode: 16 })).toEqual({
      unusable: 'its nodes have 8 GPU(s), spec.topology.gpusPerNode asks for 16',
    });
  });
  it('says to set spec.topology.gpuProduct for nodes without GPU Feature Discovery labels', () => {
    const [bare] = discoverPools([buildNode('a', { gpus: 8 })]);
    expect(poolTopology(bare as GpuPool, 1, undefined)).toEqual({
      unusable: expect.stringContaining('set spec.topology.gpuProduct'),
    });
    expect(poolTopology(bare as GpuPool, 1, { gpuProduct: L40S })).toMatchObject({
      resolved: { gpuProduct: L40S, gpusPerNode: 8 },
    });
  });
  it('reads NVLink from GPU Feature Discovery clique labels', () => {
    const nodes = ['a', 'b'].map((n) =>
      buildNode(n, { gpus: 4, product: 'NVIDIA-GB200', labels: { 'nvidia.com/gpu.clique': 'fabric-1.0' } }),
    );
    const [gb200] = discoverPools(nodes);
    expect(poolTopology(gb200 as GpuPool, 2, undefined)).toMatchObject({
      resolved: {
        intraNodeLink: 'NVLink',
        nvlinkDomains: 1,
        description: expect.stringContaining('fabric-1.0'),
      },
    });
    expect(poolTopology(gb200 as GpuPool, 2, { intraNodeLink: 'PCIe' })).toMatchObject({
      resolved: { intraNodeLink: 'PCIe' },
    });
  });
  it('plans from spec.topology alone only when it names GPUs per node and the product', () => {
    expect(specTopology({ gpusPerNode: 8, gpuProduct: H100 })).toMatchObject({
      gpusPerNode: 8,
      gpuProduct: H100,
      source: 'FromSpec',
    });
    expect(specTopology({ gpusPerNode: 8 })).toBeUndefined();
    expect(specTopology(undefined)).toBeUndefined();
  });
  it('parses quantities', () => {
    expect(parseQuantity('80Gi')).toBe(80 * 2 ** 30);
    expect(parseQuantity('1.5G')).toBe(1.5e9);
    expect(() => parseQuantity('eighty')).toThrow(/not a Kubernetes quantity/);
  });
});
