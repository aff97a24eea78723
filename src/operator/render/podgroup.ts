import { type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import type { Plan } from '../../shared/plan/index.js';
import type { KubeObject } from '../kube/objects.js';
import { GPU_RESOURCE } from '../topology/resolve.js';
import { childMeta } from './metadata.js';
import { groupName } from './names.js';

export interface VolcanoPodGroup extends KubeObject {
  spec: { minMember: number; minResources: Record<string, string>; queue?: string };
}

/**
 * The Volcano PodGroup of group `index` (gang provider `Volcano`): the scheduler places all of the
 * group's pods or none, so a half-placed group never holds GPUs while it waits for the rest. Pods join
 * it through the `scheduling.k8s.io/group-name` annotation of their template.
 */
export function renderVolcanoPodGroup(inf: DiTInference, index: number, plan: Plan): VolcanoPodGroup {
  const queue = inf.spec.placement?.gang?.queueName;
  return {
    apiVersion: 'scheduling.volcano.sh/v1beta1',
    kind: 'PodGroup',
    metadata: childMeta(inf, groupName(inf.metadata.name ?? '', index), {
      labels: { [LABELS.groupIndex]: String(index) },
    }),
    spec: {
      minMember: plan.podsPerGroup,
      minResources: { [GPU_RESOURCE]: String(plan.gpusPerGroup) },
      ...(queue ? { queue } : {}),
    },
  };
}
