import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  decidePlacement,
  type PlacementDecision,
  planInputsHash,
} from '../../src/operator/controller/placement-decision.js';
import type { ObservedGroup } from '../../src/operator/policy/group-observation.js';
import { type ExistingGroup, placeGroups } from '../../src/operator/pools/assign.js';
import { freeGpus, groupsThatFit, podGpus } from '../../src/operator/pools/capacity.js';
import { discoverPools, labelSafe } from '../../src/operator/pools/pool.js';
import { type RankedPool, rankPools } from '../../src/operator/pools/rank.js';
import { assessCapacity, capacityCondition } from '../../src/operator/status/capacity.js';
import { placementConditions } from '../../src/operator/status/placement.js';
import type { DiTInferenceSpec } from '../../src/shared/api/v1alpha1/index.js';
import type { Plan } from '../../src/shared/plan/index.js';
import { buildInference, buildNode } from './support/builders.js';
import { H100, h100Nodes, L40S, l40sNodes, placementFor } from './support/placement.js';

const KARPENTER = 'karpenter.sh/nodepool';

function gpuPod(
  name: string,
  node: string | undefined,
  gpus: number,
  extra: Partial<V1Pod['status']> = {},
): V1Pod {
  return {
    metadata: { name, namespace: 'other', uid: `uid-${name}` },
    spec: {
      ...(node ? { nodeName: node } : {}),
      containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }],
    },
    status: { phase: node ? 'Running' : 'Pending', ...extra },
  };
}

function decisionOf(state: ReturnType<typeof decidePlacement>): PlacementDecision {
  if (!('decision' in state)) throw new Error(`no decision: ${JSON.stringify(state)}`);
  return state.decision;
}

describe('discoverPools', () => {
  it('groups nodes by GPU product, count, memory and node group, and names each pool after its node group', () => {
    const nodes = [
      ...h100Nodes(3, { [KARPENTER]: 'h100-nvlink' }),
      ...l40sNodes(2, { [KARPENTER]: 'l40s-pcie' }),
      buildNode('cpu-0', { gpus: 0 }),
    ];
    const pools = discoverPools(nodes);
    expect(pools.map((p) => [p.name, p.gpuProduct, p.gpusPerNode, p.gpuMemoryMiB, p.nodes.length])).toEqual([
      ['h100-nvlink', H100, 8, 81559, 3],
      ['l40s-pcie', L40S, 8, 46068, 2],
    ]);
    expect(pools[1]?.selector).toEqual({
      'nvidia.com/gpu.product': L40S,
      'nvidia.com/gpu.count': '8',
      'nvidia.com/gpu.memory': '46068',
      [KARPENTER]: 'l40s-pcie',
    });
  });

  it('names a pool without a node group after its product and GPU count, and tells NVLink domains apart', () => {
    const nodes = [
      ...h100Nodes(2),
      buildNode('gb-0', { gpus: 4, product: 'NVIDIA-GB200', labels: { 'nvidia.com/gpu.clique': 'f1.0' } }),
      buildNode('gb-1', { gpus: 4, product: 'NVIDIA-GB200', labels: { 'nvidia.com/gpu.clique': 'f1.1' } }),
      buildNode('bare-0', { gpus: 2 }),
      buildNode('bare-1', { gpus: 4 }),
    ];
    expect(discoverPools(nodes).map((p) => p.name)).toEqual([
      'gpu-x2',
      'gpu-x4',
      'nvidia-gb200-x4-f1.0',
      'nvidia-gb200-x4-f1.1',
      'nvidia-h100-80gb-hbm3-x8',
    ]);
  });

  it('gives two pools that share a node group stable names of their own', () => {
    const nodes = [...h100Nodes(1, { [KARPENTER]: 'mixed' }), ...l40sNodes(1, { [KARPENTER]: 'mixed' })];
    const names = discoverPools(nodes).map((p) => p.name);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    expect(names.every((n) => /^mixed-[0-9a-f]{6}$/.test(n))).toBe(true);
    expect(discoverPools([...nodes].reverse()).map((p) => p.name)).toEqual(names);
  });

  it('makes label-safe names', () => {
    expect(labelSafe('NVIDIA-H100-80GB-HBM3-x8')).toBe('nvidia-h100-80gb-hbm3-x8');
    expect(labelSafe('a_b/c')).toBe('a-b-c');
    const long = labelSafe('x'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^x+-[0-9a-f]{8}$/);
  });
});

describe('capacity', () => {
  it('counts the GPUs pods hold, requests or limits, init containers one at a time', () => {
    expect(podGpus(gpuPod('a', 'n', 4))).toBe(4);
    const withInit: V1Pod = {
      spec: {
        containers: [{ name: 'a', resources: { requests: { 'nvidia.com/gpu': '2' } } }],
        initContainers: [{ name: 'i', resources: { limits: { 'nvidia.com/gpu': '8' } } }],
      },
    };
    expect(podGpus(withInit)).toBe(8);
    expect(podGpus({ spec: { containers: [{ name: 'cpu' }] } })).toBe(0);
  });

  it('frees what bound pods do not hold, node by node', () => {
    const free = freeGpus(h100Nodes(2), [
      gpuPod('a', 'h100-0', 8),
      gpuPod('b', 'h100-1', 3),
      gpuPod('p', undefined, 8),
    ]);
    expect([...free]).toEqual([
      ['h100-0', 0],
      ['h100-1', 5],
    ]);
  });

  it('fits whole groups with at most one pod of a group per node', () => {
    expect(groupsThatFit([8, 8, 8, 8], 1, 8)).toBe(4);
    expect(groupsThatFit([8, 8, 8, 8], 2, 8)).toBe(2);
    expect(groupsThatFit([8, 8, 8], 2, 8)).toBe(1);
    // Two 4-GPU pods per node, but a group of 2 pods needs 2 different nodes.
    expect(groupsThatFit([8, 8], 2, 4)).toBe(2);
    expect(groupsThatFit([16, 0, 0], 2, 8)).toBe(0);
    expect(groupsThatFit([5, 7], 1, 8)).toBe(0);
    expect(groupsThatFit([], 1, 8)).toBe(0);
  });
});

function rankedPool(name: string, totalSeconds: number, gpusPerGroup: number, groupsFit: number): RankedPool {
  const plan = {
    request: { maxBatch: 1 },
    gpusPerGroup,
    predicted: { totalSeconds },
  } as unknown as Plan;
  return { name, plan, groupsFit, why: '' };
}

describe('rankPools', () => {
  const fast = rankedPool('h100', 2, 8, 1);
  const cheap = rankedPool('l40s', 5, 2, 4);
  it('puts the lowest predicted latency first for Latency, saying by how much', () => {
    const ranked = rankPools([cheap, fast], 'Latency');
    expect(ranked.map((r) => r.name)).toEqual(['h100', 'l40s']);
    expect(ranked[0]?.why).toBe('lowest predicted latency: 2.00 s per request vs 5.00 s per request on l40s');
    expect(ranked[1]?.why).toMatch(/^ranked 2: 5.00 s per request/);
  });
  it('puts the most images per GPU-second first for Throughput', () => {
    const ranked = rankPools([fast, cheap], 'Throughput');
    expect(ranked.map((r) => r.name)).toEqual(['l40s', 'h100']);
    expect(ranked[0]?.why).toMatch(/^most images per GPU-second: 0.100 images per GPU-second vs 0.0625/);
  });
  it('says when only one pool can run the object', () => {
    expect(rankPools([fast], 'Latency')[0]?.why).toBe(
      'the only pool with a feasible plan (2.00 s per request)',
    );
  });
});

describe('placeGroups', () => {
  const ranked = [rankedPool('h100', 2, 8, 0), rankedPool('l40s', 5, 8, 2)];
  const planHashes = new Map([
    ['h100', 'ph'],
    ['l40s', 'pl'],
  ]);
  const known = new Set(['h100', 'l40s']);
  const group = (index: number, over: Partial<ExistingGroup>): ExistingGroup => ({
    index,
    pool: 'h100',
    planHash: 'ph',
    specCurrent: true,
    serving: true,
    bound: true,
    ...over,
  });
  const base = { ranked, planHashes, knownPools: known, existing: [] as ExistingGroup[] };

  it('puts new groups on the best pool, full or not, unless overflow is allowed', () => {
    expect(placeGroups({ ...base, replicas: 2, overflow: 'None' })).toEqual([
      { index: 0, kind: 'placed', pool: 'h100' },
      { index: 1, kind: 'placed', pool: 'h100' },
    ]);
    expect(placeGroups({ ...base, replicas: 3, overflow: 'NextPool' })).toEqual([
      { index: 0, kind: 'placed', pool: 'l40s', overflowFrom: 'h100' },
      { index: 1, kind: 'placed', pool: 'l40s', overflowFrom: 'h100' },
      // Nothing has room any more: the best pool, where it waits.
      { index: 2, kind: 'placed', pool: 'h100' },
    ]);
  });

  it('never moves a group that holds GPUs of a pool the policy still allows', () => {
    const existing = [group(0, {}), group(1, { pool: 'l40s', planHash: 'pl' })];
    expect(placeGroups({ ...base, existing, replicas: 2, overflow: 'NextPool' })).toEqual([
      { index: 0, kind: 'placed', pool: 'h100' },
      { index: 1, kind: 'placed', pool: 'l40s' },
    ]);
  });

  it('moves a group that holds nothing out of a full pool only when overflow is allowed', () => {
    const waiting = [group(0, { serving: false, bound: false })];
    expect(placeGroups({ ...base, existing: waiting, replicas: 1, overflow: 'None' })).toEqual([
      { index: 0, kind: 'placed', pool: 'h100' },
    ]);
    expect(placeGroups({ ...base, existing: waiting, replicas: 1, overflow: 'NextPool' })).toEqual([
      { index: 0, kind: 'placed', pool: 'l40s', overflowFrom: 'h100' },
    ]);
  });

  it('keeps a serving group whose pool vanished or was re-planned under it, and re-places one that is down', () => {
    const gone = group(0, { pool: 'a100' });
    const replanned = group(1, { planHash: 'older' });
    expect(placeGroups({ ...base, existing: [gone, replanned], replicas: 2, overflow: 'None' })).toEqual([
      { index: 0, kind: 'kept', pool: 'a100', because: 'poolGone' },
      { index: 1, kind: 'kept', pool: 'h100', because: 'poolReplanned' },
    ]);
    const down = [
      { ...gone, serving: false },
      { ...replanned, serving: false },
    ];
    expect(placeGroups({ ...base, existing: down, replicas: 2, overflow: 'None' })).toEqual([
      { index: 0, kind: 'placed', pool: 'h100' },
      { index: 1, kind: 'placed', pool: 'h100' },
    ]);
  });

  it('keeps an object without overflow on one pool: new groups join its groups even when another pool ranks first', () => {
    const onL40s = [group(0, { pool: 'l40s', planHash: 'pl' }), group(1, { pool: 'l40s', planHash: 'pl' })];
    expect(placeGroups({ ...base, existing: onL40s, replicas: 3, overflow: 'None' })).toEqual([
      { index: 0, kind: 'placed', pool: 'l40s' },
      { index: 1, kind: 'placed', pool: 'l40s' },
      { index: 2, kind: 'placed', pool: 'l40s' },
    ]);
    // A spec change re-plans every group: they go to the pool that ranks first now.
    const respecced = onL40s.map((g) => ({ ...g, specCurrent: false }));
    expect(placeGroups({ ...base, existing: respecced, replicas: 2, overflow: 'None' })).toEqual([
      { index: 0, kind: 'placed', pool: 'h100' },
      { index: 1, kind: 'placed', pool: 'h100' },
    ]);
  });

  it('moves groups when the spec changed: a pool the policy no longer allows, or new spec inputs', () => {
    const excluded = group(0, { pool: 'l40s-old' });
    const respecced = group(1, { pool: 'gone', specCurrent: false });
    const moved = placeGroups({
      ...base,
      knownPools: new Set([...known, 'l40s-old']),
      existing: [excluded, respecced],
      replicas: 2,
      overflow: 'None',
    });
    expect(moved).toEqual([
      { index: 0, kind: 'placed', pool: 'h100' },
      { index: 1, kind: 'placed', pool: 'h100' },
    ]);
  });
});

describe('decidePlacement on an H100 NVLink pool and an L40S PCIe pool', () => {
  const nodes = [
    ...h100Nodes(2, { [KARPENTER]: 'h100-nvlink' }),
    ...l40sNodes(2, { [KARPENTER]: 'l40s-pcie' }),
  ];
  const sd3 = (over: Partial<DiTInferenceSpec> = {}) =>
    buildInference('sd3', {
      model: { architecture: 'sd3-medium', source: { pvc: { claimName: 'm' } }, dtype: 'bf16' },
      request: { height: 1024, width: 1024, steps: 28, guidanceScale: 7, maxBatch: 1 },
      parallelism: { mode: 'Auto', objective: 'Latency', gpusPerGroup: 8 },
      replicas: 2,
      ...over,
    });

  it('plans for both pools, picks the fastest for Latency, and pins groups to it', () => {
    const d = decisionOf(placementFor(sd3(), nodes));
    expect(d.ranked.map((r) => r.name)).toEqual(['h100-nvlink', 'l40s-pcie']);
    expect(d.primary.why).toMatch(/^lowest predicted latency: .* vs .* on l40s-pcie$/);
    expect(d.primary.plan.pool).toEqual({ name: 'h100-nvlink', gpuProduct: H100, gpusPerNode: 8 });
    expect(d.groups.map((g) => [g.index, g.kind, g.pool])).toEqual([
      [0, 'placed', 'h100-nvlink'],
      [1, 'placed', 'h100-nvlink'],
    ]);
    const g0 = d.groups[0];
    expect(g0?.kind === 'placed' ? g0.selector : undefined).toMatchObject({
      'nvidia.com/gpu.product': H100,
      [KARPENTER]: 'h100-nvlink',
    });
    expect([...d.poolPlans.keys()]).toEqual(['h100-nvlink']);
  });

  it('uses only the pool the spec names', () => {
    const d = decisionOf(
      placementFor(sd3({ placement: { pool: { name: 'l40s-pcie', overflow: 'None' } } }), nodes),
    );
    expect(d.primary.name).toBe('l40s-pcie');
    expect(d.pools.find((p) => p.name === 'h100-nvlink')?.excluded).toBe(
      'spec.placement.pool.name names pool l40s-pcie',
    );
    expect(d.groups.every((g) => g.pool === 'l40s-pcie')).toBe(true);
    expect(placementFor(sd3({ placement: { pool: { name: 'a100', overflow: 'None' } } }), nodes)).toEqual({
      unresolved: expect.stringMatching(
        /spec.placement.pool.name a100 names no pool .*h100-nvlink, l40s-pcie/,
      ),
    });
  });

  it('sends groups to the next pool, planned for it, when the best is full and the policy allows', () => {
    const busy = [gpuPod('x', 'h100-0', 8), gpuPod('y', 'h100-1', 8)];
    const inf = sd3({ placement: { pool: { overflow: 'NextPool' } } });
    const d = decisionOf(
      decidePlacement({
        inference: inf,
        children: { groups: new Map(), planConfigMap: undefined, services: new Map() },
        nodes,
        boundPods: busy,
        defaultTolerations: [],
      }),
    );
    expect(d.primary.name).toBe('h100-nvlink');
    expect(d.pools.map((p) => [p.name, p.groupsFit])).toEqual([
      ['h100-nvlink', 0],
      ['l40s-pcie', 2],
    ]);
    expect(d.groups.map((g) => [g.pool, g.kind === 'placed' ? g.overflowFrom : undefined])).toEqual([
      ['l40s-pcie', 'h100-nvlink'],
      ['l40s-pcie', 'h100-nvlink'],
    ]);
    expect(d.groups[0]?.plan.pool?.name).toBe('l40s-pcie');
    expect(d.groups[0]?.plan.pool?.gpuProduct).toBe(L40S);
    const planned = placementConditions('sd3', { decision: d }).updates.find((c) => c.type === 'Planned');
    expect(planned?.message).toMatch(
      /^pool h100-nvlink \(lowest predicted latency: .*; sd3-g0, sd3-g1 run on pool l40s-pcie, planned dp\S+ for it \(not on the best pool h100-nvlink: that one was full, or ranked lower, when they were placed\)$/s,
    );
  });

  it('keeps an object on the pool its groups run on, saying which pool ranks first now', () => {
    const inf = sd3({ replicas: 3 });
    const onL40s = (index: number): ObservedGroup => ({
      index,
      statefulSet: {
        metadata: {
          name: `sd3-g${index}`,
          labels: { 'tessera.dev/pool': 'l40s-pcie' },
          annotations: {
            'tessera.dev/plan-inputs-hash': planInputsHash(inf),
            'tessera.dev/plan-hash': 'old',
          },
        },
        spec: { replicas: 1 } as V1StatefulSet['spec'],
      },
      pods: [],
    });
    const d = decisionOf(
      decidePlacement({
        inference: inf,
        children: {
          groups: new Map([0, 1].map((i) => [i, onL40s(i)] as const)),
          planConfigMap: undefined,
          services: new Map(),
        },
        nodes,
        boundPods: [],
        defaultTolerations: [],
      }),
    );
    expect(d.ranked[0]?.name).toBe('h100-nvlink');
    expect(d.primary.name).toBe('l40s-pcie');
    expect(d.primary.why).toMatch(
      /^the object's groups run on it \(ranked 2: .*\); h100-nvlink ranks first now/,
    );
    expect(d.groups.map((g) => g.pool)).toEqual(['l40s-pcie', 'l40s-pcie', 'l40s-pcie']);
  });

  it('ranks by images per GPU-second for Throughput', () => {
    const d = decisionOf(
      placementFor(sd3({ parallelism: { mode: 'Auto', objective: 'Throughput', gpusPerGroup: 8 } }), nodes),
    );
    expect(d.primary.why).toMatch(/^(most images per GPU-second|the only pool)/);
  });

  it('stalls naming each pool when none can run the spec', () => {
    const bad = sd3({
      parallelism: {
        mode: 'Manual',
        objective: 'Latency',
        degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 5 },
      },
    });
    expect(placementFor(bad, nodes)).toEqual({
      rejected: {
        reason: 'NoFeasiblePlan',
        message: expect.stringMatching(
          /^no pool can run it: pools h100-nvlink, l40s-pcie: .*ulysses=5 does not divide heads=24/s,
        ),
      },
    });
    const gpuLess = sd3({ topology: { gpuProduct: 'Imaginary-GPU' } });
    expect(placementFor(gpuLess, h100Nodes(2))).toEqual({
      unresolved: `pool nvidia-h100-80gb-hbm3-x8: its GPUs are ${H100}, spec.topology.gpuProduct asks for Imaginary-GPU`,
    });
    expect(placementFor(bad, h100Nodes(2))).toEqual({
      rejected: { reason: 'NoFeasiblePlan', message: expect.not.stringContaining('no pool can run it') },
    });
  });

  it('plans from spec.topology when no node may host a group yet, pinning to the user selector only', () => {
    const zero = sd3({
      placement: { nodeSelector: { [KARPENTER]: 'h100-spot' } },
      topology: { gpusPerNode: 8, gpuProduct: H100 },
    });
    const d = decisionOf(placementFor(zero, nodes));
    expect(d.source).toBe('FromSpec');
    expect(d.primary.name).toBe('spec-topology');
    const g0 = d.groups[0];
    expect(g0?.kind === 'placed' ? g0.selector : undefined).toEqual({});
    expect(placementFor(sd3({ placement: { nodeSelector: { [KARPENTER]: 'h100-spot' } } }), nodes)).toEqual({
      unresolved: expect.stringContaining('set spec.topology.gpusPerNode and spec.topology.gpuProduct'),
    });
  });
});

describe('capacity condition', () => {
  const nodes = h100Nodes(1);
  const inf = buildInference('flux', {
    replicas: 3,
    parallelism: { mode: 'Auto', objective: 'Latency', gpusPerGroup: 8 },
  });

  it('names how many groups fit and the scheduler reason when the pool is full', () => {
    const d = decisionOf(placementFor(inf, nodes));
    const reason = '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.';
    const pending = (i: number) => ({
      index: i,
      statefulSet: { metadata: { name: `flux-g${i}` }, spec: { replicas: 1 } },
      pods: [
        gpuPod(`flux-g${i}-0`, i === 0 ? 'h100-0' : undefined, 8, {
          conditions:
            i === 0
              ? []
              : [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: reason }],
        }),
      ],
    });
    const groups = new Map([0, 1, 2].map((i) => [i, pending(i)] as const));
    // Group 0 holds the node's 8 GPUs: nothing else fits.
    const full = { ...d, pools: d.pools.map((p) => ({ ...p, groupsFit: 0 })) };
    const c = assessCapacity(full, groups as never);
    expect(c).toMatchObject({ desired: 3, scheduled: 1, fit: 1 });
    expect(capacityCondition(c)).toEqual({
      type: 'CapacityAvailable',
      status: 'False',
      reason: 'InsufficientCapacity',
      message: `1 of 3 group(s) fit in the GPU pools (3 on pool nvidia-h100-80gb-hbm3-x8); 2 of 3 group(s) pending, the scheduler says: ${reason}`,
    });
  });

  it('is True once every group is scheduled, and waits for nodes when planned from spec.topology', () => {
    const d = decisionOf(placementFor(inf, nodes));
    const bound = new Map(
      [0, 1, 2].map(
        (i) =>
          [i, { index: i, statefulSet: { spec: { replicas: 1 } }, pods: [gpuPod(`p${i}`, 'n', 8)] }] as const,
      ),
    );
    expect(capacityCondition(assessCapacity(d, bound as never))).toMatchObject({
      status: 'True',
      reason: 'GroupsScheduled',
      message: 'all 3 group(s) scheduled (3 on pool nvidia-h100-80gb-hbm3-x8)',
    });
    const waiting = new Map([
      [
        0,
        {
          index: 0,
          statefulSet: { spec: { replicas: 1 } },
          pods: [
            gpuPod('p0', undefined, 8, {
              conditions: [
                { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' },
              ],
            }),
          ],
        },
      ],
    ]);
    expect(capacityCondition(assessCapacity({ ...d, source: 'FromSpec' }, waiting as never))).toMatchObject({
      status: 'False',
      reason: 'WaitingForNodes',
      message: expect.stringContaining('the scheduler says: no nodes (waiting for a node autoscaler'),
    });
  });
});
