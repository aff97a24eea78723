import type { Degrees } from './mesh.js';

/**
 * The plan: the one contract between operator and runtime. The operator writes it as JSON into the
 * group's ConfigMap (key `plan.json`); the launcher reads it. Bump PLAN_SCHEMA_VERSION on any change
 * that an older runtime would misread.
 */
export const PLAN_SCHEMA_VERSION = 1;
export const PLAN_CONFIGMAP_KEY = 'plan.json';

/** What the plan assumes about the transformer; the runtime checks it against the real checkpoint. */
export interface ModelFacts {
  /** Architecture family, e.g. `flux`, `sd3`, `pixart`. */
  family: 'flux' | 'sd3' | 'pixart';
  /** Transformer blocks in execution order (Flux: double + single; SD3: joint blocks). */
  layers: number;
  heads: number;
  headDim: number;
  /** Side of a latent patch in latent pixels (2 for every supported family). */
  patchSize: number;
  /** Latent pixels per image pixel side (8 for every supported VAE). */
  vaeScaleFactor: number;
  /** Text tokens joined to the image sequence in attention (0 for cross-attention models like PixArt). */
  textTokens: number;
  /** Whether the model uses true classifier-free guidance (two branches) rather than a distilled one. */
  usesCfg: boolean;
  /** Transformer parameter count, for memory and compute estimates. */
  parameters: number;
}

export interface RequestShape {
  height: number;
  width: number;
  steps: number;
  /** Largest batch of prompts one group serves at once. */
  maxBatch: number;
  guidanceScale: number;
}

/** Where one rank of a group runs. */
export interface RankPlacement {
  rank: number;
  /** StatefulSet ordinal of the pod that runs it. */
  pod: number;
  /** GPU index inside the pod (or local process index in CPU mode). */
  localRank: number;
}

/**
 * Where the text encoders (T5, CLIP-L, CLIP-G) run. `leader`: only on group rank 0, which tokenizes and
 * encodes and broadcasts the embeddings with the run message; the other ranks never load them.
 */
export type TextEncoderPlacement = 'leader';

export interface VaeDecodeSettings {
  /**
   * Ranks that decode one image together, patch-parallel (row bands with halo exchange): the ranks of the
   * image's data-parallel replica, i.e. the whole group when `degrees.dataParallel` is 1. Every one of
   * them holds the VAE weights; 1 decodes on one rank.
   */
  ranks: number;
}

export interface PipelineSettings {
  /** Row-band patches per image (1 when PipeFusion is off). */
  patches: number;
  /** Synchronous warm-up steps before stale activations are used. */
  warmupSteps: number;
  /** Where the text encoders run; a plan without it means `leader` (read it with `pipelinePlacement`). */
  textEncoders?: TextEncoderPlacement;
  /**
   * How the VAE decode is split; a plan without it means all ranks of a replica (read it with
   * `pipelinePlacement`).
   */
  vaeDecode?: VaeDecodeSettings;
}

export interface Prediction {
  stepSeconds: number;
  totalSeconds: number;
  memoryBytesPerGpu: number;
}

/** The GPU pool a plan was made for; the operator pins the pods of groups that run it to that pool. */
export interface PlanPool {
  /** The pool's name, as in the DiTInference's `status.pools`. */
  name: string;
  gpuProduct: string;
  gpusPerNode: number;
}

export interface Plan {
  schemaVersion: typeof PLAN_SCHEMA_VERSION;
  model: ModelFacts;
  request: RequestShape;
  degrees: Degrees;
  gpusPerGroup: number;
  podsPerGroup: number;
  gpusPerPod: number;
  pipeline: PipelineSettings;
  ranks: RankPlacement[];
  predicted: Prediction;
  /** One sentence on why this plan won, for status and `tessera plan`. */
  reason: string;
  /** The GPU pool the plan was made for; absent in plans made outside a cluster (`tessera plan`). */
  pool?: PlanPool;
  /**
   * What the ranks compute on: `cuda` (one GPU per rank; what the operator plans for GPU nodes, and what
   * a plan without this field means) or `cpu` (a local group of `tessera denoise`). `tessera worker
   * --device cpu` runs a GPU plan on CPU.
   */
  device?: PlanDevice;
}

export type PlanDevice = 'cuda' | 'cpu';

/** The short form used in printer columns and logs, e.g. `dp1·cfg2·pp1·r1·u4`. */
export function planShortString(d: Degrees): string {
  return `dp${d.dataParallel}·cfg${d.cfg}·pp${d.pipefusion}·r${d.ring}·u${d.ulysses}`;
}

/** The placement of the pipeline's parts outside the transformer, with the defaults old plans get. */
export interface PipelinePlacement {
  textEncoders: TextEncoderPlacement;
  vaeDecode: VaeDecodeSettings;
}

/** Ranks of one data-parallel replica: the ranks that share one image's latents. */
export function replicaRanks(d: Degrees): number {
  return d.cfg * d.pipefusion * d.ring * d.ulysses;
}

/**
 * The text-encoder and VAE placement a plan asks for. Plans written before these fields existed get
 * the placements the runtime uses by contract: text encoders on the leader, VAE decode patch-parallel
 * over all ranks of a replica (which needs no more memory per rank than the one-rank decode such plans
 * were checked for).
 */
export function pipelinePlacement(plan: { degrees: Degrees; pipeline: PipelineSettings }): PipelinePlacement {
  return {
    textEncoders: plan.pipeline.textEncoders ?? 'leader',
    vaeDecode: { ranks: plan.pipeline.vaeDecode?.ranks ?? replicaRanks(plan.degrees) },
  };
}

/**
 * What is wrong with a plan's placement fields, one reason per field, naming it; empty when they are
 * valid. For the runtime's plan-file check: the VAE decode ranks must be a divisor of the replica's
 * rank count, so every band group is a whole set of ranks of one replica.
 */
export function placementProblems(plan: { degrees: Degrees; pipeline: PipelineSettings }): string[] {
  const out: string[] = [];
  const { textEncoders, vaeDecode } = plan.pipeline;
  if (textEncoders !== undefined && textEncoders !== 'leader') {
    out.push(`pipeline.textEncoders must be 'leader', got ${JSON.stringify(textEncoders)}`);
  }
  if (vaeDecode !== undefined) {
    const replica = replicaRanks(plan.degrees);
    const n = vaeDecode.ranks;
    if (!Number.isInteger(n) || n < 1 || replica % n !== 0) {
      out.push(
        `pipeline.vaeDecode.ranks must be a positive divisor of the ${replica} ranks of a data-parallel replica, got ${String(n)}`,
      );
    }
  }
  return out;
}
