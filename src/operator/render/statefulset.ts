import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { ANNOTATIONS, type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import type { KubeObject } from '../kube/objects.js';
import { stableHash } from './hash.js';
import { OPERATOR_ANNOTATIONS } from './keys.js';
import { childMeta } from './metadata.js';
import { groupName, peersServiceName } from './names.js';
import { renderPodTemplate, type TemplateInputs } from './pod-template.js';

export interface GroupStatefulSet extends KubeObject {
  spec: {
    replicas: number;
    serviceName: string;
    podManagementPolicy: 'Parallel';
    updateStrategy: { type: 'OnDelete' };
    selector: { matchLabels: Record<string, string> };
    template: V1PodTemplateSpec;
  };
}

/** A rendered group: its StatefulSet and the revision (hash of its pod template) it carries. */
export interface RenderedGroup {
  readonly index: number;
  readonly revision: string;
  readonly statefulSet: GroupStatefulSet;
}

/**
 * The StatefulSet of group `index`. Pods start in parallel (ranks wait for each other at rendezvous
 * anyway) and the update strategy is OnDelete: the operator replaces all pods of a group together when
 * it rolls the group, because ranks of different templates cannot form one group.
 */
export interface GroupInputs extends TemplateInputs {
  /** Hash of the spec fields the plan was made from (planInputsHash). */
  readonly inputsHash: string;
}

export function renderGroup(inf: DiTInference, index: number, inputs: GroupInputs): RenderedGroup {
  const name = inf.metadata.name ?? '';
  const template = renderPodTemplate(inf, index, inputs);
  const revision = stableHash(template);
  const templateLabels = { ...template.metadata?.labels, [LABELS.revision]: revision };
  const selector = { [LABELS.name]: name, [LABELS.groupIndex]: String(index) };
  return {
    index,
    revision,
    statefulSet: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: childMeta(inf, groupName(name, index), {
        labels: {
          [LABELS.groupIndex]: String(index),
          [LABELS.revision]: revision,
          [LABELS.pool]: inputs.pool.name,
        },
        annotations: {
          [ANNOTATIONS.planHash]: inputs.planHash,
          [OPERATOR_ANNOTATIONS.planInputsHash]: inputs.inputsHash,
        },
      }),
      spec: {
        replicas: inputs.plan.podsPerGroup,
        serviceName: peersServiceName(name),
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'OnDelete' },
        selector: { matchLabels: selector },
        template: { ...template, metadata: { ...template.metadata, labels: templateLabels } },
      },
    },
  };
}
