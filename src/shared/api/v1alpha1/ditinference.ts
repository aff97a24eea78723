import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { API_GROUP_VERSION, KIND, LIST_KIND } from './constants.js';
import type { FailurePolicySpec } from './failure.js';
import type { ModelSpec } from './model.js';
import type { ParallelismSpec } from './parallelism.js';
import type { PlacementSpec } from './placement.js';
import type { Int32 } from './primitives.js';
import type { RequestSpec } from './request.js';
import type { RuntimeSpec } from './runtime.js';
import type { ServingSpec } from './serving.js';
import type { DiTInferenceStatus } from './status.js';
import type { TopologySpec } from './topology.js';

/**
 * What a DiTInference asks for: a model, the request shape to plan for, how to split it across GPUs,
 * and how many groups to run.
 * @validation {"rule": "!has(self.parallelism.pipeline) || self.parallelism.pipeline.warmupSteps <= self.request.steps", "message": "parallelism.pipeline.warmupSteps must not exceed request.steps", "fieldPath": ".parallelism.pipeline.warmupSteps"}
 * @validation {"rule": "!has(self.model.facts) || !has(self.parallelism.degrees) || self.model.facts.heads % self.parallelism.degrees.ulysses == 0", "message": "parallelism.degrees.ulysses must divide model.facts.heads", "fieldPath": ".parallelism.degrees.ulysses"}
 * @validation {"rule": "!has(self.model.facts) || !has(self.parallelism.degrees) || self.model.facts.guidance == 'CFG' || self.parallelism.degrees.cfg == 1", "message": "parallelism.degrees.cfg 2 needs a model with guidance CFG; guidance-distilled models run one branch", "fieldPath": ".parallelism.degrees.cfg"}
 * @validation {"rule": "!has(self.parallelism.degrees) || self.parallelism.degrees.cfg == 1 || !(self.model.architecture in ['flux-dev', 'flux-schnell'])", "message": "parallelism.degrees.cfg must be 1 for FLUX.1: it is guidance-distilled and has no second branch", "fieldPath": ".parallelism.degrees.cfg"}
 */
export interface DiTInferenceSpec {
  /** The diffusion transformer and where its checkpoint comes from. */
  model: ModelSpec;
  /**
   * The request shape groups are planned and warmed up for.
   * @default {}
   */
  request: RequestSpec;
  /**
   * How each group's GPUs are split across the model.
   * @default {}
   */
  parallelism: ParallelismSpec;
  /** Hints that override what the nodes say, so groups can be planned before their nodes exist. */
  topology?: TopologySpec;
  /**
   * Number of groups (each a full copy of the model on its own GPUs). The scale subresource sets it;
   * 0 keeps the object but frees all GPUs.
   * @default 1
   * @minimum 0
   * @maximum 1000
   */
  replicas: Int32;
  /**
   * The runtime container.
   * @default {}
   */
  runtime: RuntimeSpec;
  /** Node selection, tolerations, affinity, priority and gang scheduling. */
  placement?: PlacementSpec;
  /**
   * The HTTP endpoint on each group's leader.
   * @default {}
   */
  serving: ServingSpec;
  /**
   * What happens when a pod of a group fails.
   * @default {}
   */
  failurePolicy: FailurePolicySpec;
  /**
   * Any string; changing it restarts all groups (one at a time) and resets their restart counts. Lets
   * GitOps trigger a restart with a commit.
   * @maxLength 253
   */
  restartToken?: string;
}

/**
 * A group of GPU pods, possibly across nodes, running one diffusion transformer (FLUX.1, SD3/SD3.5,
 * PixArt-Σ) with hybrid parallelism (data, CFG, PipeFusion, Ulysses, Ring), times `spec.replicas`.
 * The name is checked here because the operator derives Service, StatefulSet and pod names from it
 * (`src/operator/render/names.ts` holds the same limits).
 * @validation {"rule": "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')", "message": "metadata.name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, no dots), because it also names the object's Services: rename the object, e.g. flux.dev to flux-dev"}
 * @validation {"rule": "self.metadata.name.size() <= 42", "message": "metadata.name must be at most 42 characters, because the names of the object's pods and their labels (<name>-g<group>-<pod>, controller-revision-hash) are derived from it and must fit 63: use a shorter name"}
 */
export interface DiTInference {
  /** `tessera.dev/v1alpha1`. */
  apiVersion: typeof API_GROUP_VERSION;
  /** `DiTInference`. */
  kind: typeof KIND;
  /** Standard object metadata. */
  metadata: V1ObjectMeta;
  /**
   * What the user asks for: the model and its checkpoint, the request shape to plan for, how to split
   * each group across GPUs, how many groups, and how their pods run. The operator never writes it.
   */
  spec: DiTInferenceSpec;
  /** What the operator observed and decided: conditions, the chosen plan and the state of each group. */
  status?: DiTInferenceStatus;
}

export interface DiTInferenceList {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof LIST_KIND;
  metadata: { resourceVersion?: string; continue?: string };
  items: DiTInference[];
}
