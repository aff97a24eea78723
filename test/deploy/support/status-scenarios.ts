import { computeStatus, type StatusInputs } from '../../../src/operator/status/compute.js';
import type { ResolvedTopology } from '../../../src/operator/topology/resolve.js';
import type { DiTInference, GroupStatus } from '../../../src/shared/api/v1alpha1/index.js';
import { buildInference } from '../../operator/support/builders.js';
import { placementFor } from '../../operator/support/placement.js';

/** Four nodes of 8 H100s, as read from live nodes. */
export const H100_TOPOLOGY: ResolvedTopology = {
  gpusPerNode: 8,
  gpuProduct: 'NVIDIA-H100-80GB-HBM3',
  nodesAvailable: 4,
  nvlinkDomains: 0,
  source: 'FromNodes',
  description: '4 nodes with 8 NVIDIA-H100-80GB-HBM3',
};

function group(index: number, phase: GroupStatus['phase'], restarts = 0): GroupStatus {
  return {
    name: `flux-g${index}`,
    index,
    readyPods: phase === 'Ready' ? 1 : 0,
    desiredPods: 1,
    restarts,
    phase,
    revision: 'r1',
  };
}

export interface Scenario {
  name: string;
  /** What Argo CD should show, from integrations/argocd/…/health.lua. */
  argo: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';
  /** What kstatus computes (Flux, cli-utils); undefined where kstatus cannot know (no status yet). */
  kstatus?: 'Current' | 'InProgress' | 'Failed' | 'Terminating';
  object: DiTInference;
}

/**
 * DiTInference objects whose status is what the operator's computeStatus writes in each situation a
 * GitOps tool must tell apart: starting, rolling, recreating, ready, stalled, scaled to zero, a spec
 * the operator has not seen yet, deletion.
 */
export function statusScenarios(): Scenario[] {
  const now = new Date('2026-12-01T00:00:00Z');
  const withStatus = (
    inference: DiTInference,
    inputs: Partial<Omit<StatusInputs, 'inference' | 'now'>>,
  ): DiTInference => {
    const placement = placementFor(inference);
    if (!('decision' in placement)) throw new Error(`no plan for the scenario: ${JSON.stringify(placement)}`);
    const status = computeStatus({
      inference,
      placement,
      groups: [],
      outdatedGroups: 0,
      gaveUp: undefined,
      applyError: undefined,
      now,
      ...inputs,
    });
    return { ...inference, status };
  };
  const flux = (replicas: number) => buildInference('flux', { replicas });

  const ready = withStatus(flux(2), { groups: [group(0, 'Ready'), group(1, 'Ready')] });
  const newGeneration: DiTInference = {
    ...ready,
    metadata: { ...ready.metadata, generation: 2 },
  };
  const deleting: DiTInference = {
    ...ready,
    metadata: { ...ready.metadata, deletionTimestamp: new Date('2026-12-01T00:01:00Z') },
  };
  const manualBad = buildInference('flux', {
    parallelism: {
      mode: 'Manual',
      objective: 'Latency',
      degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 5 },
    },
  });
  const rejected = placementFor(manualBad);
  if (!('rejected' in rejected)) throw new Error('the bad manual degrees were planned');
  const noPlan: DiTInference = {
    ...manualBad,
    status: computeStatus({
      inference: manualBad,
      placement: rejected,
      groups: [],
      outdatedGroups: 0,
      gaveUp: undefined,
      applyError: undefined,
      now,
    }),
  };

  return [
    { name: 'no-status', argo: 'Progressing', object: flux(1) },
    {
      name: 'pending',
      argo: 'Progressing',
      kstatus: 'InProgress',
      object: withStatus(flux(1), { groups: [group(0, 'Pending')] }),
    },
    {
      name: 'starting',
      argo: 'Progressing',
      kstatus: 'InProgress',
      object: withStatus(flux(2), { groups: [group(0, 'Ready'), group(1, 'Starting')] }),
    },
    {
      name: 'rolling',
      argo: 'Progressing',
      kstatus: 'InProgress',
      object: withStatus(flux(2), { groups: [group(0, 'Ready'), group(1, 'Ready')], outdatedGroups: 1 }),
    },
    {
      name: 'recreating',
      argo: 'Progressing',
      kstatus: 'InProgress',
      object: withStatus(flux(2), { groups: [group(0, 'Ready'), group(1, 'Recreating', 1)] }),
    },
    {
      name: 'apply-failed',
      argo: 'Progressing',
      kstatus: 'InProgress',
      object: withStatus(flux(1), {
        groups: [group(0, 'Ready')],
        applyError: 'statefulsets "flux-g0" is forbidden',
      }),
    },
    { name: 'ready', argo: 'Healthy', kstatus: 'Current', object: ready },
    { name: 'new-generation', argo: 'Progressing', kstatus: 'InProgress', object: newGeneration },
    { name: 'deleting', argo: 'Progressing', kstatus: 'Terminating', object: deleting },
    { name: 'stalled-no-plan', argo: 'Degraded', kstatus: 'Failed', object: noPlan },
    {
      name: 'stalled-restart-limit',
      argo: 'Degraded',
      kstatus: 'Failed',
      object: withStatus(flux(1), {
        groups: [group(0, 'Failed', 3)],
        gaveUp: 'group flux-g0 failed 4 times (restartLimit 3)',
      }),
    },
    {
      name: 'scaled-to-zero',
      argo: 'Suspended',
      kstatus: 'Current',
      object: withStatus(flux(0), { groups: [] }),
    },
  ];
}
