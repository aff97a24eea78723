import type { ModelSpec } from '../models/index.js';
import type { Degrees, RequestShape } from '../plan/index.js';

/** The shapes one request gives the transformer. */
export interface Workload {
  /** Hidden size D = heads × head_dim. */
  hidden: number;
  /** Rows of patch tokens (image height / (vae scale × patch)). */
  tokenRows: number;
  imageTokens: number;
  /** Tokens of the joint attention sequence (image + joint text). */
  sequence: number;
  /** Linear-layer FLOPs per token per block. */
  linearFlopsPerToken: number;
  /** Attention FLOPs per block for one sample over the whole sequence (4·N²·D plus cross-attention). */
  attentionFlopsPerSample: number;
  /** Transformer forwards per step per prompt: 2 with true CFG, else 1. */
  branches: number;
}

/** Per-token weight FLOPs of one block in units of 2·D² (refs/runtime.md §9): joint blocks 12·D². */
const LINEAR_D2_PER_TOKEN: Record<ModelSpec['facts']['family'], number> = {
  flux: 12,
  sd3: 12,
  // Self-attention 4·D², cross-attention query and output 2·D², feed-forward 8·D².
  pixart: 14,
};

export function workload(model: ModelSpec, request: RequestShape, imageTokensOverride?: number): Workload {
  const f = model.facts;
  const hidden = f.heads * f.headDim;
  const pixelsPerToken = f.vaeScaleFactor * f.patchSize;
  const tokenRows = Math.floor(request.height / pixelsPerToken);
  const tokenCols = Math.floor(request.width / pixelsPerToken);
  const imageTokens = imageTokensOverride ?? tokenRows * tokenCols;
  const sequence = imageTokens + f.textTokens;
  const linearFlopsPerToken = 2 * LINEAR_D2_PER_TOKEN[f.family] * hidden * hidden;
  const cross = model.crossAttentionTokens;
  const attentionFlopsPerSample =
    4 * sequence * sequence * hidden +
    (cross > 0 ? 4 * imageTokens * cross * hidden + 4 * cross * hidden * hidden : 0);
  return {
    hidden,
    tokenRows,
    imageTokens,
    sequence,
    linearFlopsPerToken,
    attentionFlopsPerSample,
    branches: f.usesCfg ? 2 : 1,
  };
}

/** Prompts one data-parallel replica serves at once. */
export function promptsPerReplica(request: RequestShape, d: Degrees): number {
  return Math.ceil(request.maxBatch / d.dataParallel);
}

/** Samples each rank's forward carries: the replica's prompts, times the CFG branches it does not split off. */
export function samplesPerRank(w: Workload, request: RequestShape, d: Degrees): number {
  return promptsPerReplica(request, d) * (w.branches / d.cfg);
}
