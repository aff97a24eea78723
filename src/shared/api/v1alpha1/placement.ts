import type { V1Affinity } from '@kubernetes/client-node';
import type { Int64, ObjectName } from './primitives.js';

export const GANG_PROVIDERS = ['None', 'Kueue', 'Volcano'] as const;
export type GangProvider = (typeof GANG_PROVIDERS)[number];

/**
 * A toleration, as in a pod spec (a structural copy of core/v1 Toleration, so the API server checks
 * its fields).
 * @validation {"rule": "self.operator != 'Exists' || !has(self.value) || self.value == ''", "message": "a toleration with operator Exists must not set value", "fieldPath": ".value"}
 * @validation {"rule": "self.operator == 'Exists' || (has(self.key) && self.key != '')", "message": "a toleration with operator Equal needs a key", "fieldPath": ".key"}
 */
export interface Toleration {
  /**
   * Taint key to match; empty with operator `Exists` matches every taint.
   * @maxLength 316
   */
  key?: string;
  /**
   * `Equal` matches key and value; `Exists` matches the key alone.
   * @default "Equal"
   */
  operator: 'Equal' | 'Exists';
  /**
   * Taint value to match with operator `Equal`.
   * @maxLength 63
   */
  value?: string;
  /** Taint effect to match; empty matches every effect. */
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  /**
   * With effect `NoExecute`: seconds the pod stays bound after the taint appears; unset means forever.
   * @minimum 0
   */
  tolerationSeconds?: Int64;
}

/**
 * Gang scheduling: all pods of a group are admitted or scheduled together, so a half-placed group never
 * holds GPUs while it waits for the rest.
 * @validation {"rule": "self.provider != 'None' || !has(self.queueName)", "message": "queueName needs provider Kueue or Volcano", "fieldPath": ".queueName"}
 */
export interface GangSpec {
  /**
   * `None`: plain scheduling. `Kueue`: each group is a Kueue pod group (label
   * `kueue.x-k8s.io/pod-group-name`). `Volcano`: each group gets a Volcano PodGroup with `minMember` =
   * pods per group and `schedulerName: volcano`.
   * @default "None"
   */
  provider: GangProvider;
  /**
   * Kueue LocalQueue or Volcano queue the groups are submitted to.
   * @minLength 1
   * @maxLength 253
   */
  queueName?: string;
}

/** Where the pods of each group may run. */
export interface PlacementSpec {
  /**
   * Node labels every pod requires, added to what the operator selects itself.
   * @maxProperties 64
   */
  nodeSelector?: Record<string, string>;
  /**
   * Taints the pods tolerate (GPU nodes are often tainted `nvidia.com/gpu:NoSchedule`).
   * @maxItems 64
   * @listType atomic
   */
  tolerations?: Toleration[];
  /**
   * Affinity rules, exactly as in a pod spec (core/v1 Affinity). Kept unchecked here (the API server
   * checks them on the pods); the operator adds its own group affinity next to them.
   * @preserveUnknownFields
   */
  affinity?: V1Affinity;
  /**
   * Node label whose value must be the same for all pods of a group and different between groups,
   * e.g. `cloud.google.com/gce-topology-block` or `nvidia.com/gpu.clique`, so a group sits inside one
   * fast-network domain and owns it.
   * @minLength 1
   * @maxLength 316
   */
  exclusiveTopologyKey?: string;
  /**
   * PriorityClass of the pods.
   */
  priorityClassName?: ObjectName;
  /**
   * Scheduler that places the pods; omitted: the cluster default (or `volcano` with gang provider
   * Volcano).
   * @minLength 1
   * @maxLength 253
   */
  schedulerName?: string;
  /** Gang scheduling of each group; omitted: none. */
  gang?: GangSpec;
}
