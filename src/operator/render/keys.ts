/**
 * Annotations only the operator reads, on objects it owns. The public label and annotation keys live in
 * the API package (`LABELS`, `ANNOTATIONS`); these are the operator's bookkeeping.
 */
export const OPERATOR_ANNOTATIONS = {
  /**
   * On the plan ConfigMap and each group's StatefulSet: hash of the spec fields the plans were made
   * from (re-plan only when it changes; a group on another hash was planned from an older spec).
   */
  planInputsHash: 'tessera.dev/plan-inputs-hash',
  /**
   * On the plan ConfigMap: `{pool: plan hash}` for each pool groups run on, so a pool keeps its plan
   * while the spec and the pool stay the same.
   */
  poolPlans: 'tessera.dev/pool-plans',
  /**
   * On a group's StatefulSet: the UIDs of the pods that make up the running group, recorded once all of
   * them exist. A recorded pod that is gone (deleted, evicted, replaced) means the group lost a rank.
   */
  members: 'tessera.dev/members',
  /** On a group's StatefulSet: how often the operator recreated the group (the failure policy's count). */
  restarts: 'tessera.dev/restarts',
  /** On a group's StatefulSet: when the operator last recreated (or first created) the group, RFC 3339. */
  recreatedAt: 'tessera.dev/recreated-at',
  /**
   * On a group's StatefulSet: pods being replaced together (a recreation or a roll), as `name=uid`
   * pairs; the group re-forms once all of them are gone.
   */
  recreating: 'tessera.dev/recreating',
  /** On a group's StatefulSet: the `spec.restartToken` the restart count belongs to. */
  restartsToken: 'tessera.dev/restarts-token',
} as const;

/** Kueue's plain-pod-group keys (kueue `docs/tasks/run/plain_pods.md`). */
export const KUEUE = {
  podGroupName: 'kueue.x-k8s.io/pod-group-name',
  podGroupTotalCount: 'kueue.x-k8s.io/pod-group-total-count',
  queueName: 'kueue.x-k8s.io/queue-name',
} as const;

/** Volcano's pod-group annotation and queue annotation. */
export const VOLCANO = {
  groupName: 'scheduling.k8s.io/group-name',
  queueName: 'scheduling.volcano.sh/queue-name',
  schedulerName: 'volcano',
} as const;

/** Karpenter leaves nodes with such pods alone during consolidation; a group loses no rank to it. */
export const KARPENTER_DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt';
