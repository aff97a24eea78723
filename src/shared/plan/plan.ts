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

export interface PipelineSettings {
  /** Row-band patches per image (1 when PipeFusion is off). */
  patches: number;
  /** Synchronous warm-up steps before stale activations are used. */
  warmupSteps: number;
}

export interface Prediction {
  stepSeconds: number;
  totalSeconds: number;
  memoryBytesPerGpu: number;
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
}

/** The short form used in printer columns and logs, e.g. `dp1·cfg2·pp1·r1·u4`. */
export function planShortString(d: Degrees): string {
  return `dp${d.dataParallel}·cfg${d.cfg}·pp${d.pipefusion}·r${d.ring}·u${d.ulysses}`;
}
