import type { Degrees } from '../../plan/index.js';
import type { Int32 } from './primitives.js';

export const PARALLELISM_MODES = ['Auto', 'Manual'] as const;
export type ParallelismMode = (typeof PARALLELISM_MODES)[number];

export const PARALLELISM_OBJECTIVES = ['Latency', 'Throughput'] as const;
export type ParallelismObjective = (typeof PARALLELISM_OBJECTIVES)[number];

/**
 * Hybrid-parallel degrees of one group, as in xDiT. The group's GPU count is their product. Mesh order,
 * innermost first: Ulysses, Ring, PipeFusion, CFG, data parallel, so sequence parallelism stays inside
 * a node.
 */
export interface DegreesSpec {
  /**
   * Data-parallel replicas inside one group (prompts split across them). Usually 1: `spec.replicas`
   * adds whole groups instead.
   * @default 1
   * @minimum 1
   * @maximum 64
   */
  dataParallel: Int32;
  /**
   * CFG parallel: 2 runs the conditional and unconditional branches on different GPUs; 1 runs both on
   * the same. Only models with true CFG (SD3, SD3.5, PixArt-Σ) can use 2.
   * @default 1
   * @minimum 1
   * @maximum 2
   */
  cfg: Int32;
  /**
   * PipeFusion stages: the transformer blocks split into this many stages, fed patch by patch.
   * @default 1
   * @minimum 1
   * @maximum 64
   */
  pipefusion: Int32;
  /**
   * Ring attention degree (sequence parallel, passes K/V around a ring).
   * @default 1
   * @minimum 1
   * @maximum 64
   */
  ring: Int32;
  /**
   * Ulysses degree (sequence parallel, all-to-all between sequence and heads); must divide the heads.
   * @default 1
   * @minimum 1
   * @maximum 64
   */
  ulysses: Int32;
}

/** PipeFusion settings; they only matter when `degrees.pipefusion` is above 1. */
export interface PipelineSpec {
  /**
   * Row-band patches each image is cut into for the pipeline; at least the number of stages keeps
   * every stage busy. Omitted: the number of PipeFusion stages.
   * @minimum 1
   * @maximum 64
   */
  patches?: Int32;
  /**
   * Synchronous steps before PipeFusion starts reusing stale activations (at most `request.steps`).
   * @default 1
   * @minimum 0
   * @maximum 1000
   */
  warmupSteps: Int32;
}

export const APPROXIMATE_METHOD_POLICIES = ['ExactFirst', 'Forbid', 'Prefer'] as const;
export type ApproximateMethodPolicy = (typeof APPROXIMATE_METHOD_POLICIES)[number];

/**
 * How mode `Auto` weighs approximate methods against exact ones. PipeFusion is approximate: patches
 * attend one-step-stale activations of the patches not yet recomputed, so its images differ slightly
 * from a one-GPU run; Ulysses, Ring, CFG and data parallel are exact.
 */
export interface ApproximateMethodsSpec {
  /**
   * `ExactFirst`: an approximate plan only when it is predicted faster than the best exact plan by at
   * least `marginPercent`, or when no exact plan fits in memory. `Forbid`: exact plans only (in mode
   * `Manual`, `degrees.pipefusion` must then be 1). `Prefer`: an approximate plan unless the best exact
   * plan is predicted faster by at least `marginPercent`, or none fits.
   * @default "ExactFirst"
   */
  policy: ApproximateMethodPolicy;
  /**
   * The predicted speed-up, in percent of the slower plan's time, that overrides the policy's first
   * preference.
   * @default 10
   * @minimum 0
   * @maximum 1000
   */
  marginPercent: Int32;
}

/**
 * An inclusive range of GPUs per group for the planner to choose from.
 * @validation {"rule": "self.min <= self.max", "message": "min must not exceed max", "fieldPath": ".min"}
 */
export interface GpuRange {
  /**
   * Fewest GPUs per group.
   * @minimum 1
   * @maximum 4096
   */
  min: Int32;
  /**
   * Most GPUs per group.
   * @minimum 1
   * @maximum 4096
   */
  max: Int32;
}

/**
 * How the GPUs of one group are split across the model. `Auto` lets the planner choose degrees from
 * the model, the request and the topology; `Manual` takes `degrees` as written.
 * @validation {"rule": "self.mode != 'Manual' || has(self.degrees)", "message": "mode Manual requires degrees (dataParallel, cfg, pipefusion, ring, ulysses)", "fieldPath": ".degrees"}
 * @validation {"rule": "self.mode == 'Manual' || !has(self.degrees)", "message": "degrees are only read in mode Manual; set mode: Manual or remove degrees", "fieldPath": ".degrees"}
 * @validation {"rule": "!has(self.gpusPerGroup) || !has(self.gpusPerGroupRange)", "message": "set at most one of gpusPerGroup and gpusPerGroupRange", "fieldPath": ".gpusPerGroupRange"}
 * @validation {"rule": "self.mode != 'Manual' || !has(self.gpusPerGroupRange)", "message": "gpusPerGroupRange is for mode Auto; in mode Manual the degrees fix the GPU count", "fieldPath": ".gpusPerGroupRange"}
 * @validation {"rule": "!has(self.degrees) || !has(self.gpusPerGroup) || self.gpusPerGroup == self.degrees.dataParallel * self.degrees.cfg * self.degrees.pipefusion * self.degrees.ring * self.degrees.ulysses", "message": "gpusPerGroup must equal the product of the degrees (dataParallel × cfg × pipefusion × ring × ulysses)", "fieldPath": ".gpusPerGroup"}
 * @validation {"rule": "!has(self.degrees) || !has(self.pipeline) || !has(self.pipeline.patches) || self.degrees.pipefusion > 1 || self.pipeline.patches == 1", "message": "pipeline.patches above 1 needs degrees.pipefusion above 1", "fieldPath": ".pipeline.patches"}
 * @validation {"rule": "!has(self.degrees) || !has(self.approximateMethods) || self.approximateMethods.policy != 'Forbid' || self.degrees.pipefusion == 1", "message": "degrees.pipefusion above 1 is approximate (PipeFusion) but approximateMethods.policy is Forbid; set degrees.pipefusion to 1 or the policy to ExactFirst", "fieldPath": ".approximateMethods.policy"}
 */
export interface ParallelismSpec {
  /**
   * `Auto`: the planner chooses the degrees. `Manual`: use `degrees` as written (the operator still
   * rejects degrees the model or the topology cannot run, in status).
   * @default "Auto"
   */
  mode: ParallelismMode;
  /**
   * What `Auto` optimises: `Latency` (fastest single image; more GPUs per group) or `Throughput` (most
   * images per GPU-second; smaller groups, more of them).
   * @default "Latency"
   */
  objective: ParallelismObjective;
  /** The degrees; required in mode `Manual`, not allowed in mode `Auto`. */
  degrees?: DegreesSpec;
  /** PipeFusion patches and warm-up steps. */
  pipeline?: PipelineSpec;
  /**
   * Whether mode `Auto` may choose approximate methods (PipeFusion), and by what margin. Omitted:
   * `ExactFirst` with a 10 % margin.
   */
  approximateMethods?: ApproximateMethodsSpec;
  /**
   * Exact GPUs per group. In mode `Manual` it must equal the product of the degrees (or be omitted).
   * @minimum 1
   * @maximum 4096
   */
  gpusPerGroup?: Int32;
  /** Range of GPUs per group for mode `Auto` to choose from; omitted: any size the topology allows. */
  gpusPerGroupRange?: GpuRange;
}

/** The spec's degrees and the plan's degrees are one shape; this fails to compile if they drift. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const degreesMatchPlan: Same<DegreesSpec, Degrees> = true;
void degreesMatchPlan;
