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

export const POOL_OVERFLOW = ['None', 'NextPool'] as const;
export type PoolOverflow = (typeof POOL_OVERFLOW)[number];

/**
 * How groups choose among the cluster's GPU pools. The operator groups the nodes a pod could use into
 * pools (same GPU product, GPUs per node, GPU memory, NVLink domain and node group, e.g. a Karpenter
 * node pool), plans for each pool, and ranks the pools by `spec.parallelism.objective`: `Latency`
 * prefers the lowest predicted time per request, `Throughput` the most images per GPU-second. Every
 * group runs on one pool and its pods are pinned to it; `status.pools` shows the ranking.
 */
export interface PoolPolicySpec {
  /**
   * Only this pool (its name in `status.pools[].name`: the node group, e.g. the Karpenter node pool,
   * or `<gpu product>-x<gpus per node>`); omitted: the best-ranked pool.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$
   */
  name?: string;
  /**
   * `None`: every group waits for the best pool (groups that do not fit stay Pending, and the
   * `CapacityAvailable` condition says so). `NextPool`: a group that does not fit in the best pool goes
   * to the next-ranked pool with room, planned for that pool; groups of one object may then span pools.
   * @default "None"
   */
  overflow: PoolOverflow;
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
  /**
   * Which GPU pool groups run on, and whether groups may go to another pool when the best one is full.
   * @validation {"rule": "!has(self.name) || self.overflow == 'None'", "message": "pool.overflow NextPool needs no pool.name: a named pool is the only one groups may use", "fieldPath": ".overflow"}
   */
  pool?: PoolPolicySpec;
}
