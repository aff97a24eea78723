import type { Degrees, PipelineSettings, Prediction } from '../../plan/index.js';
import type { Int32, Int64 } from './primitives.js';

/** One condition, the shape of metav1.Condition. */
export interface Condition {
  /**
   * Condition type, e.g. `Ready`, `Reconciling`, `Stalled`, `TopologyResolved`, `Planned`, `GroupsReady`.
   * @minLength 1
   * @maxLength 316
   */
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: 'True' | 'False' | 'Unknown';
  /**
   * The `.metadata.generation` the condition was computed from.
   * @minimum 0
   */
  observedGeneration?: Int64;
  /**
   * When `status` last changed (RFC 3339).
   * @format date-time
   */
  lastTransitionTime: string;
  /**
   * Machine-readable CamelCase reason for the last transition.
   * @minLength 1
   * @maxLength 1024
   * @pattern ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
   */
  reason: string;
  /**
   * Human-readable details.
   * @maxLength 32768
   */
  message: string;
}

/** The degrees the plan chose (mirror of the plan contract's `Degrees`). */
export interface PlanDegreesStatus {
  /** Data-parallel replicas inside one group. */
  dataParallel: Int32;
  /** CFG-parallel degree (1 or 2). */
  cfg: Int32;
  /** PipeFusion stages. */
  pipefusion: Int32;
  /** Ring attention degree. */
  ring: Int32;
  /** Ulysses degree. */
  ulysses: Int32;
}

/** PipeFusion settings of the plan (mirror of the plan contract's `PipelineSettings`). */
export interface PlanPipelineStatus {
  /** Row-band patches per image (1 when PipeFusion is off). */
  patches: Int32;
  /** Synchronous warm-up steps before stale activations are used. */
  warmupSteps: Int32;
}

/** What the planner predicts for the planned request shape (mirror of the plan contract's `Prediction`). */
export interface PlanPredictionStatus {
  /** Seconds per denoising step. */
  stepSeconds: number;
  /** Seconds per request, all steps plus text encoding and VAE decode. */
  totalSeconds: number;
  /** Peak GPU memory per GPU in bytes. */
  memoryBytesPerGpu: Int64;
}

/** The plan the groups run, copied from the plan ConfigMap for people and tools. */
export interface PlanStatus {
  /**
   * The degrees as a short string, e.g. `dp1·cfg2·pp1·r1·u4` (the `Plan` column).
   * @maxLength 128
   */
  summary: string;
  /** The chosen degrees. */
  degrees: PlanDegreesStatus;
  /** GPUs in one group (the product of the degrees). */
  gpusPerGroup: Int32;
  /** Pods in one group (one per node). */
  podsPerGroup: Int32;
  /** GPUs each pod requests. */
  gpusPerPod: Int32;
  /** PipeFusion settings. */
  pipeline: PlanPipelineStatus;
  /** Predicted step time, request time and memory. */
  predicted: PlanPredictionStatus;
  /**
   * One sentence on why this plan won.
   * @maxLength 4096
   */
  reason: string;
  /**
   * The GPU pool this plan is for (`status.pools[].name`): the best-ranked pool, where new groups go.
   * @maxLength 63
   */
  pool?: string;
  /**
   * Why that pool won over the others.
   * @maxLength 1024
   */
  poolReason?: string;
}

/** One GPU pool the operator considered for this object. */
export interface PoolStatus {
  /**
   * The pool's name: its node group (e.g. the Karpenter node pool), or `<gpu product>-x<gpus per node>`.
   * @maxLength 63
   */
  name: string;
  /**
   * GPU product of its nodes (`nvidia.com/gpu.product`).
   * @maxLength 128
   */
  gpuProduct?: string;
  /** GPUs per node. */
  gpusPerNode: Int32;
  /** Nodes of the pool this object's pods could use (Ready, schedulable, selected, tolerated). */
  nodes: Int32;
  /**
   * The plan for this pool in the `Plan` column's form; absent when no plan is feasible on it.
   * @maxLength 128
   */
  plan?: string;
  /** Predicted seconds per request of that plan. */
  predictedSeconds?: number;
  /** Groups of this object placed on the pool. */
  groups: Int32;
  /** Further groups of this plan that fit in the pool's free GPUs now. */
  groupsFit: Int32;
  /**
   * Why the pool cannot run this object, or where it ranks.
   * @maxLength 2048
   */
  message?: string;
}

export const GROUP_PHASES = ['Pending', 'Starting', 'Ready', 'Degraded', 'Recreating', 'Failed'] as const;
export type GroupPhase = (typeof GROUP_PHASES)[number];

/** State of one group (one StatefulSet). */
export interface GroupStatus {
  /**
   * Name of the group's StatefulSet, e.g. `flux-g0`.
   * @maxLength 253
   */
  name: string;
  /** Index of the group (label `tessera.dev/group-index`). */
  index: Int32;
  /** Pods of the group that are Ready. */
  readyPods: Int32;
  /** Pods the group should have (the plan's pods per group). */
  desiredPods: Int32;
  /** Times the operator recreated this group since the last `restartToken` change. */
  restarts: Int32;
  /**
   * `Pending`: pods not yet scheduled. `Starting`: loading weights and warming up. `Ready`: serving.
   * `Degraded`: a node under one of its pods was deleted or is not Ready, so a rank is lost.
   * `Recreating`: being recreated after a failure. `Failed`: gave up after `restartLimit`.
   */
  phase: GroupPhase;
  /**
   * Why the group is not serving, when the operator knows more than the phase: a lost node, the
   * scheduler's reason for pods it cannot place.
   * @maxLength 2048
   */
  message?: string;
  /**
   * Template revision the group runs (label `tessera.dev/revision`).
   * @maxLength 128
   */
  revision: string;
  /**
   * The GPU pool the group's pods are pinned to (`status.pools[].name`).
   * @maxLength 63
   */
  pool?: string;
  /**
   * The degrees of the plan the group runs, as the `Plan` column writes them.
   * @maxLength 128
   */
  plan?: string;
}

/** What the operator observed and decided; it never writes spec. */
export interface DiTInferenceStatus {
  /** The `.metadata.generation` this status describes; older means the operator has not caught up. */
  observedGeneration?: Int64;
  /**
   * `Ready`, `Reconciling`, `Stalled` (kstatus) and the domain conditions `TopologyResolved`,
   * `Planned`, `GroupsReady`.
   * @maxItems 16
   * @listType map
   * @listMapKey type
   */
  conditions?: Condition[];
  /** The plan for the best-ranked pool, where new groups go; absent until one is found. */
  plan?: PlanStatus;
  /**
   * The GPU pools this object could use, best-ranked first, with their plans and capacity.
   * @maxItems 32
   * @listType map
   * @listMapKey name
   */
  pools?: PoolStatus[];
  /**
   * One entry per existing group, by index.
   * @maxItems 1000
   * @listType map
   * @listMapKey name
   */
  groups?: GroupStatus[];
  /** Groups that exist (the scale subresource's `status.replicas`). */
  replicas?: Int32;
  /** Groups with all pods ready. */
  readyReplicas?: Int32;
  /**
   * `ready/desired` groups, e.g. `2/3` (the `Groups` column).
   * @maxLength 32
   */
  groupsReady?: string;
  /**
   * Label selector (string form) matching the leader pod of every group, for the scale subresource
   * and HPA/KEDA.
   * @maxLength 1024
   */
  selector?: string;
}

/** Status mirrors of the plan contract; these fail to compile if the two drift apart. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const planShapesMatch: [
  Same<PlanDegreesStatus, Degrees>,
  Same<PlanPipelineStatus, PipelineSettings>,
  Same<PlanPredictionStatus, Prediction>,
] = [true, true, true];
void planShapesMatch;
