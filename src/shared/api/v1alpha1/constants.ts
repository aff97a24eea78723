/**
 * Names of the DiTInference API and the labels, annotations and condition vocabulary the operator
 * stamps on what it owns. Operator, runtime, CLI and the CRD generator all read them from here, so a
 * rename happens in one place.
 */

export const API_GROUP = 'tessera.dev';
export const API_VERSION = 'v1alpha1';
/** The `apiVersion` written in every object. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;
export const KIND = 'DiTInference';
export const LIST_KIND = 'DiTInferenceList';
export const PLURAL = 'ditinferences';
export const SINGULAR = 'ditinference';
export const SHORT_NAMES = ['dit'] as const;
/** `kubectl get tessera` lists every Tessera kind. */
export const CATEGORIES = ['tessera'] as const;
/** The CustomResourceDefinition's own name (`<plural>.<group>`). */
export const CRD_NAME = `${PLURAL}.${API_GROUP}` as const;

/** Labels the operator puts on every object it creates for a DiTInference. */
export const LABELS = {
  /** Name of the owning DiTInference. */
  name: 'tessera.dev/name',
  /** Index of the group (0-based) inside the DiTInference; one StatefulSet per group. */
  groupIndex: 'tessera.dev/group-index',
  /** `leader` on pod 0 of a group (serves HTTP, holds rank 0), `worker` on the others. */
  role: 'tessera.dev/role',
  /** Hash of the rendered group template; groups roll one at a time when it changes. */
  revision: 'tessera.dev/revision',
  /** The GPU pool a group's pods are pinned to (`status.pools[].name`). */
  pool: 'tessera.dev/pool',
  /** Standard label naming the controller that manages the object. */
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export const ROLES = ['leader', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Value of `app.kubernetes.io/managed-by` and the server-side-apply field manager of the operator. */
export const OPERATOR_MANAGER = 'tessera-operator';

/** Annotations the operator stamps on pod templates. */
export const ANNOTATIONS = {
  /** Copy of `spec.restartToken`; changing it changes the template, which restarts every group. */
  restartToken: 'tessera.dev/restart-token',
  /** Hash of the plan the group runs, so a re-plan rolls the groups. */
  planHash: 'tessera.dev/plan-hash',
} as const;

/**
 * The string label selector that matches the leader pods of every group of one DiTInference. It is
 * what `status.selector` carries for the scale subresource, so HPA/KEDA read leader metrics only.
 */
export function leaderSelector(name: string): string {
  return `${LABELS.name}=${name},${LABELS.role}=leader`;
}

/**
 * Condition types. `Ready`, `Reconciling` and `Stalled` follow kstatus: `Reconciling` and `Stalled`
 * are "abnormal-true" (absent means fine), so Flux, Argo CD and `kubectl wait` read health without
 * knowing this kind. The others are domain conditions that say which step is not done.
 */
export const CONDITION_TYPES = {
  /** Every desired group is serving on the current plan and revision. */
  ready: 'Ready',
  /** The operator is still moving the world towards spec (creating, rolling, re-planning). */
  reconciling: 'Reconciling',
  /** The operator cannot make progress without a change from a person (bad plan, restart limit). */
  stalled: 'Stalled',
  /** The operator knows the GPUs a group runs on, from nodes or from `spec.topology`. */
  topologyResolved: 'TopologyResolved',
  /** A plan satisfying the request, the parallelism policy and the topology was found. */
  planned: 'Planned',
  /** All desired groups have all their pods ready. */
  groupsReady: 'GroupsReady',
  /** spec.model.source.hub: every pod's init container fetched the model (absent for other sources). */
  modelFetched: 'ModelFetched',
  /** The GPU pools hold every desired group: all pods are scheduled (or fit and are being scheduled). */
  capacityAvailable: 'CapacityAvailable',
} as const;
export type ConditionType = (typeof CONDITION_TYPES)[keyof typeof CONDITION_TYPES];

/** Condition reasons (CamelCase, as metav1.Condition requires). */
export const CONDITION_REASONS = {
  /** Ready=True, GroupsReady=True. */
  allGroupsReady: 'AllGroupsReady',
  /** Ready=False, GroupsReady=False: some groups are still starting. */
  groupsNotReady: 'GroupsNotReady',
  /** Ready=True: `spec.replicas` is 0, so the object is reconciled with no group serving. */
  scaledToZero: 'ScaledToZero',
  /** Reconciling=True: groups are being created or rolled to a new revision. */
  progressing: 'Progressing',
  /** Reconciling=True: a group is being recreated after a failure, within its back-off. */
  recreatingGroup: 'RecreatingGroup',
  /** TopologyResolved=True from live nodes. */
  fromNodes: 'FromNodes',
  /** TopologyResolved=True from `spec.topology` hints (nodes may not exist yet). */
  fromSpec: 'FromSpec',
  /** TopologyResolved=False: no matching nodes and no `spec.topology` hints. */
  topologyUnknown: 'TopologyUnknown',
  /** Planned=True. */
  planFound: 'PlanFound',
  /** Planned=False, Stalled=True: no degrees satisfy the model, request, policy and topology. */
  noFeasiblePlan: 'NoFeasiblePlan',
  /** Stalled=True: a spec combination the schema cannot reject but the operator can (e.g. heads). */
  invalidSpec: 'InvalidSpec',
  /** Stalled=True: a group failed more often than `spec.failurePolicy.restartLimit`. */
  restartLimitExceeded: 'RestartLimitExceeded',
  /** Stalled=True: the runtime found the checkpoint does not match the plan's model facts. */
  checkpointMismatch: 'CheckpointMismatch',
  /** Reconciling=True: applying a child object failed; the operator retries with back-off. */
  applyFailed: 'ApplyFailed',
  /** ModelFetched=False: pods are downloading the model from the hub. */
  modelFetching: 'Fetching',
  /** ModelFetched=True: every pod has the model. */
  modelFetchedAll: 'Fetched',
  /** ModelFetched=False, Stalled=True: the hub refused the token (401/403). */
  hubUnauthorized: 'HubUnauthorized',
  /** ModelFetched=False, Stalled=True: no such repository, revision or file (404). */
  hubNotFound: 'HubNotFound',
  /** ModelFetched=False, Stalled=True: a file's size or hash differs from the hub's metadata. */
  checksumMismatch: 'ChecksumMismatch',
  /** ModelFetched=False: the hub cannot be reached; the kubelet retries the init container. */
  hubUnreachable: 'HubUnreachable',
  /** ModelFetched=False: the hub answered something the downloader cannot use; retried. */
  hubProtocolError: 'HubProtocolError',
  /** Planned=True: a serving group keeps the plan of a pool that shrank or is gone (reported, not moved). */
  poolChanged: 'PoolChanged',
  /** CapacityAvailable=True: every group's pods are scheduled. */
  groupsScheduled: 'GroupsScheduled',
  /** CapacityAvailable=False: groups are pending and the pools have no room for them. */
  insufficientCapacity: 'InsufficientCapacity',
  /** CapacityAvailable=False: groups wait for nodes that do not exist yet (a node autoscaler from zero). */
  waitingForNodes: 'WaitingForNodes',
  /** CapacityAvailable=False: groups are pending for another reason the scheduler gives. */
  unschedulable: 'Unschedulable',
} as const;
export type ConditionReason = (typeof CONDITION_REASONS)[keyof typeof CONDITION_REASONS];
