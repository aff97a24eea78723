import type { ClusterTopology, LinkLevel } from '../hardware/index.js';
import type { ModelSpec } from '../models/index.js';
import type { Degrees, MeshAxis, Plan, RequestShape } from '../plan/index.js';
import type { EfficiencyProfile } from './profiles.js';

export type Objective = 'latency' | 'throughput';

/** GPUs per group: a fixed count or an inclusive range the planner may choose from. */
export type GroupSize = number | { min: number; max: number };

/**
 * How approximate methods (PipeFusion: stale activations) compete with exact ones.
 * `exact-first`: an approximate plan only when it beats the best exact plan by `margin`, or when no exact
 * plan is feasible. `prefer`: an approximate plan unless the best exact plan beats it by `margin`, or
 * none is feasible. `forbid`: exact plans only.
 */
export type ApproximateRule = 'exact-first' | 'prefer' | 'forbid';

export interface ApproximatePolicy {
  rule: ApproximateRule;
  /** Fraction of the slower plan's objective the faster one must save, e.g. 0.1 for 10 %. */
  margin: number;
}

/** What `plan()` applies when a policy names no approximate policy. */
export const DEFAULT_APPROXIMATE_POLICY: ApproximatePolicy = { rule: 'exact-first', margin: 0.1 };

export interface PlannerPolicy {
  gpusPerGroup: GroupSize;
  objective: Objective;
  /** PipeFusion is approximate (stale activations); `false` forbids it whatever `approximate` says. */
  allowPipefusion: boolean;
  /** How approximate plans compete with exact ones; default `DEFAULT_APPROXIMATE_POLICY`. */
  approximate?: ApproximatePolicy;
  /** Manual mode: validate and predict these degrees only. */
  degrees?: Degrees;
  /** Pipeline patches; default: the pipeline degree (xDiT's default), adjusted to fit the patch rules. */
  pipelinePatches?: number;
  /** Synchronous PipeFusion warm-up steps; default 1 (xDiT's default). */
  warmupSteps?: number;
}

export interface PlannerInput {
  model: ModelSpec;
  request: RequestShape;
  hardware: ClusterTopology;
  policy: PlannerPolicy;
  /** Calibrated efficiency constants; default: the compiled-runtime profile. */
  profile?: EfficiencyProfile;
  /** Overrides the image tokens computed from height and width (e.g. for a custom packing). */
  imageTokens?: number;
}

/** Where one step's time goes, per GPU, in seconds (communication not hidden behind compute). */
export interface StepBreakdown {
  compute: number;
  ulysses: number;
  ring: number;
  pipefusion: number;
  cfg: number;
  /** Launch overhead beyond device time (the host cannot queue kernels fast enough). */
  host: number;
}

export interface RequestBreakdown {
  /** Seconds of one steady-state step. */
  step: StepBreakdown;
  stepSeconds: number;
  /** Synchronous PipeFusion warm-up steps, in total. */
  warmupSeconds: number;
  /** Pipeline fill and drain, once per request. */
  bubbleSeconds: number;
  /** Text encoders, scheduler and request handling. */
  overheadSeconds: number;
  vaeSeconds: number;
  totalSeconds: number;
}

/** Peak bytes of one rank (for a candidate: of its rank that needs the most). */
export interface MemoryBreakdown {
  /** The rank these bytes are for. */
  rank: number;
  /** Its PipeFusion stage's transformer weights (bf16) and the VAE weights. */
  weights: number;
  /** The text encoders: on the group leader (rank 0) only. */
  textEncoders: number;
  activations: number;
  kvBuffers: number;
  /** The rank's band of the patch-parallel VAE decode. */
  vaePeak: number;
  reserve: number;
  total: number;
}

/** The link each mesh axis crosses in this placement (its slowest hop). */
export type AxisLinks = Record<MeshAxis, LinkLevel | 'none'>;

export interface Candidate {
  degrees: Degrees;
  gpusPerGroup: number;
  podsPerGroup: number;
  gpusPerPod: number;
  patches: number;
  warmupSteps: number;
  time: RequestBreakdown;
  memory: MemoryBreakdown;
  links: AxisLinks;
  /** Images per second of one group at full batch. */
  imagesPerSecond: number;
}

export interface RankedCandidate extends Candidate {
  rank: number;
  /** The objective's value relative to the best (1 = best). */
  relativeToBest: number;
}

/** A rule a candidate broke. */
export interface Violation {
  rule: RuleId;
  reason: string;
}

export interface Rejection {
  /** Absent when the group size itself is impossible, for every factorisation. */
  degrees?: Degrees;
  gpusPerGroup: number;
  violations: Violation[];
}

export type RuleId =
  | 'degree-value'
  | 'product'
  | 'ulysses-heads'
  | 'sp-latent-height'
  | 'cfg-value'
  | 'cfg-model'
  | 'pipefusion-blocks'
  | 'pipefusion-patch-height'
  | 'pipefusion-few-steps'
  | 'pipefusion-ring'
  | 'pipefusion-policy'
  | 'data-parallel-batch'
  | 'pods-even'
  | 'nodes-available'
  | 'memory';

export interface ChosenPlan extends Plan {
  breakdown: RequestBreakdown;
  memory: MemoryBreakdown;
  links: AxisLinks;
}

/** Which rule of the approximate policy decided between the best exact and the best approximate plan. */
export type DecisionRule =
  /** Only exact plans were candidates (PipeFusion forbidden, or no valid PipeFusion plan). */
  | 'only-exact'
  /** No exact plan was feasible, so the best approximate plan won. */
  | 'no-exact-feasible'
  /** The preferred kind won: it was not beaten by the margin. */
  | 'within-margin'
  /** The other kind beat the preferred one by at least the margin. */
  | 'beyond-margin'
  /** `prefer`, but no approximate plan was feasible. */
  | 'no-approximate-feasible';

export interface PolicyDecision {
  policy: ApproximatePolicy;
  rule: DecisionRule;
  /** The best exact and approximate candidates by the objective, when feasible. */
  bestExact?: RankedCandidate;
  bestApproximate?: RankedCandidate;
  /** The clause of the reason line that names the rule. */
  sentence: string;
}

export interface PlannerResult {
  chosen: ChosenPlan;
  /** The chosen candidate first, then the others best first by the objective. */
  candidates: RankedCandidate[];
  rejected: Rejection[];
  /** How the approximate policy decided (absent in manual mode, which decides nothing). */
  decision?: PolicyDecision;
}
