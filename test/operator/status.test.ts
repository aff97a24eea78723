import { describe, expect, it } from 'vitest';
import { planFor } from '../../src/operator/planning/plan-for.js';
import { nodeLosses } from '../../src/operator/policy/group-observation.js';
import { computeStatus } from '../../src/operator/status/compute.js';
import { groupAvailable, observedGroupStatus } from '../../src/operator/status/group-status.js';
import type { ResolvedTopology } from '../../src/operator/topology/resolve.js';
import type { DiTInferenceSpec, GroupStatus } from '../../src/shared/api/v1alpha1/index.js';
import { buildInference, buildPod, buildStatefulSet } from './support/builders.js';
import { placementFor } from './support/placement.js';

const topo: ResolvedTopology = {
  gpusPerNode: 8,
  gpuProduct: 'NVIDIA-H100-80GB-HBM3',
  nodesAvailable: 4,
  nvlinkDomains: 0,
  source: 'FromNodes',
  description: '4 nodes',
};
const now = new Date('2026-01-01T00:00:00Z');
const group = (index: number, phase: GroupStatus['phase']): GroupStatus => ({
  name: `flux-g${index}`,
  index,
  readyPods: phase === 'Ready' ? 1 : 0,
  desiredPods: 1,
  restarts: 0,
  phase,
  revision: 'r',
});

function cond(status: ReturnType<typeof computeStatus>, type: string) {
  return status.conditions?.find((c) => c.type === type);
}

describe('planFor', () => {
  it('rejects manual degrees whose Ulysses degree does not divide the heads, naming them', () => {
    const inf = buildInference('flux', {
      parallelism: {
        mode: 'Manual',
        objective: 'Latency',
        degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 5 },
      },
    });
    const out = planFor(inf.spec, topo);
    expect(out).toEqual({
      rejected: { reason: 'NoFeasiblePlan', message: expect.stringMatching(/heads|ulysses/i) },
    });
  });
  it('passes spec.parallelism.approximateMethods to the planner (exact first when omitted)', () => {
    const degrees = (approximateMethods?: DiTInferenceSpec['parallelism']['approximateMethods']) => {
      const inf = buildInference('flux', {
        parallelism: {
          mode: 'Auto',
          objective: 'Latency',
          gpusPerGroup: 4,
          ...(approximateMethods ? { approximateMethods } : {}),
        },
      });
      const out = planFor(inf.spec, topo);
      if (!('plan' in out)) throw new Error(out.rejected.message);
      return out.plan;
    };
    // FLUX.1-dev on 4×H100: Ulysses 4 is the fastest exact plan; PipeFusion is approximate.
    expect(degrees().degrees.pipefusion).toBe(1);
    expect(degrees().reason).toContain('exact first');
    expect(degrees({ policy: 'Forbid', marginPercent: 10 }).degrees.pipefusion).toBe(1);
    const preferred = degrees({ policy: 'Prefer', marginPercent: 90 });
    expect(preferred.degrees.pipefusion).toBeGreaterThan(1);
    expect(preferred.reason).toContain('prefer approximate');
  });
  it('names spec.topology.gpuProduct when the GPU is unknown', () => {
    const out = planFor(buildInference().spec, { ...topo, gpuProduct: 'Imaginary-GPU' });
    expect(out).toEqual({
      rejected: { reason: 'InvalidSpec', message: expect.stringContaining('spec.topology.gpuProduct') },
    });
  });
});

describe('computeStatus', () => {
  const inf = buildInference('flux', { replicas: 2 });
  const placement = placementFor(inf);
  if (!('decision' in placement)) throw new Error('no plan');
  const planned = { plan: placement.decision.primary.plan };
  const base = {
    inference: inf,
    placement,
    outdatedGroups: 0,
    gaveUp: undefined,
    applyError: undefined,
    now,
  };

  it('is Ready with the plan, counts and the leader selector when every group is ready', () => {
    const s = computeStatus({ ...base, groups: [group(0, 'Ready'), group(1, 'Ready')] });
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'AllGroupsReady',
      observedGeneration: 1,
    });
    expect(cond(s, 'Reconciling')).toBeUndefined();
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(s).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      readyReplicas: 2,
      groupsReady: '2/2',
      selector: 'tessera.dev/name=flux,tessera.dev/role=leader',
      plan: { gpusPerGroup: planned.plan.gpusPerGroup },
    });
  });
  it('is Reconciling while groups start and while a group is recreated', () => {
    const starting = computeStatus({ ...base, groups: [group(0, 'Ready'), group(1, 'Starting')] });
    expect(cond(starting, 'Ready')?.status).toBe('False');
    expect(cond(starting, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Progressing' });
    const recreating = computeStatus({ ...base, groups: [group(0, 'Ready'), group(1, 'Recreating')] });
    expect(cond(recreating, 'Reconciling')).toMatchObject({ reason: 'RecreatingGroup' });
  });
  it('is Stalled with the planner reason for a rejected spec', () => {
    const s = computeStatus({
      ...base,
      placement: { rejected: { reason: 'NoFeasiblePlan', message: 'ulysses 5 does not divide 24 heads' } },
      groups: [],
    });
    expect(cond(s, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'NoFeasiblePlan',
      message: 'ulysses 5 does not divide 24 heads',
    });
    expect(cond(s, 'Planned')?.status).toBe('False');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'NoFeasiblePlan' });
  });
  it('says in Ready which group lost a node', () => {
    const degraded = { ...group(1, 'Degraded'), message: 'node h100-1 of pod flux-g1-0 was deleted' };
    const s = computeStatus({ ...base, groups: [group(0, 'Ready'), degraded] });
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      message: '1/2 groups ready; flux-g1: node h100-1 of pod flux-g1-0 was deleted',
    });
  });
  it('is Stalled when a group used up its restarts', () => {
    const s = computeStatus({
      ...base,
      groups: [group(0, 'Failed'), group(1, 'Ready')],
      gaveUp: 'group flux-g0: too many',
    });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'RestartLimitExceeded' });
  });
  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = computeStatus({ ...base, groups: [group(0, 'Ready'), group(1, 'Ready')] });
    const later = computeStatus({
      ...base,
      inference: { ...inf, status: first },
      groups: [group(0, 'Ready'), group(1, 'Ready')],
      now: new Date('2026-01-02T00:00:00Z'),
    });
    expect(cond(later, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(later).toEqual(first);
  });
});

describe('a group whose node is lost', () => {
  const inf = buildInference('flux');
  const sts = buildStatefulSet('flux-g0', { replicas: 2 });
  const pods = [buildPod('flux-g0-0', { nodeName: 'h100-0' }), buildPod('flux-g0-1', { nodeName: 'h100-1' })];
  const nodes = new Map([['h100-0', true]]);
  const losses = nodeLosses(pods, (n) => nodes.get(n));

  it('names the pod and the node that was deleted or is NotReady', () => {
    expect(losses).toEqual([{ pod: 'flux-g0-1', node: 'h100-1', why: 'deleted' }]);
    nodes.set('h100-1', false);
    expect(nodeLosses(pods, (n) => nodes.get(n))).toEqual([
      { pod: 'flux-g0-1', node: 'h100-1', why: 'NotReady' },
    ]);
    nodes.set('h100-1', true);
    expect(nodeLosses(pods, (n) => nodes.get(n))).toEqual([]);
  });

  it('is Degraded, not available, and counts only the pods on live nodes, while the pods still say Ready', () => {
    const g = { index: 0, statefulSet: sts, pods, nodeLosses: losses };
    expect(pods.every((p) => p.status?.conditions?.[0]?.status === 'True')).toBe(true);
    expect(groupAvailable(g)).toBe(false);
    expect(groupAvailable({ ...g, nodeLosses: [] })).toBe(true);
    expect(observedGroupStatus(inf, g)).toMatchObject({
      phase: 'Degraded',
      readyPods: 1,
      desiredPods: 2,
      message: 'node h100-1 of pod flux-g0-1 was deleted',
    });
  });
});
