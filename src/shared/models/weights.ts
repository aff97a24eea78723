/**
 * Where a transformer's parameters sit: per block in execution order, plus the embedders (held by the
 * first pipeline stage) and the output head (held by the last), as the runtime's loader splits them. The
 * planner sizes each rank's weights from this; a test compares it with what ranks of a real local group
 * load (test/unit/planner/rank-memory.test.ts).
 */
import type { ModelSpec } from './model-spec.js';

export interface TransformerWeights {
  /** Parameters of each block, in execution order (Flux: double blocks, then single blocks). */
  blocks: readonly number[];
  /** Parameters of the embedders (patch/latent, text, time, pooled text). */
  embed: number;
  /** Parameters of the output head (final norm modulation and projection). */
  head: number;
}

export function totalParameters(w: TransformerWeights): number {
  return w.blocks.reduce((a, b) => a + b, 0) + w.embed + w.head;
}

/** nn.Linear with bias. */
const linear = (out: number, input: number) => out * input + out;
/** The 256-wide sinusoid → D → D timestep MLP (diffusers' TimestepEmbedding). */
const timeMlp = (d: number) => linear(d, 256) + linear(d, d);

export interface FluxShape {
  doubleBlocks: number;
  singleBlocks: number;
  heads: number;
  headDim: number;
  /** Packed latent channels (64 for FLUX.1: 16 channels × 2×2). */
  inChannels: number;
  jointAttentionDim: number;
  pooledProjectionDim: number;
  guidanceEmbeds: boolean;
  /** Output channels; diffusers' default (null) means `inChannels`. */
  outChannels?: number;
}

/**
 * FluxTransformer2DModel (refs/runtime.md §1.2). Double block: two adaLN modulations (6·D each), eight
 * attention projections, four q/k RMSNorms, two 4·D feed-forwards = 36·D² + 30·D + 4·head_dim. Single
 * block: modulation 3·D, q/k/v, two RMSNorms, the 4·D MLP in and the 5·D → D out = 15·D² + 11·D + 2·head_dim.
 */
export function fluxWeights(s: FluxShape): TransformerWeights {
  const d = s.heads * s.headDim;
  const double = 36 * d * d + 30 * d + 4 * s.headDim;
  const single = 15 * d * d + 11 * d + 2 * s.headDim;
  const embed =
    linear(d, s.inChannels) +
    linear(d, s.jointAttentionDim) +
    timeMlp(d) * (s.guidanceEmbeds ? 2 : 1) +
    linear(d, s.pooledProjectionDim) +
    linear(d, d);
  const out = s.outChannels ?? s.inChannels;
  return {
    blocks: [
      ...new Array<number>(s.doubleBlocks).fill(double),
      ...new Array<number>(s.singleBlocks).fill(single),
    ],
    embed,
    head: linear(2 * d, d) + linear(out, d),
  };
}

export interface Sd3Shape {
  layers: number;
  heads: number;
  headDim: number;
  patchSize: number;
  inChannels: number;
  outChannels: number;
  jointAttentionDim: number;
  /** Equal to D in every released checkpoint (the runtime requires it). */
  captionProjectionDim: number;
  pooledProjectionDim: number;
  /** Side of the stored sin-cos position table; null: none stored. */
  posEmbedMaxSize: number | null;
  /** SD3.5's blocks with a second, image-only attention. */
  dualAttentionLayers: readonly number[];
  qkNorm: boolean;
}

/**
 * SD3Transformer2DModel (refs/runtime.md §2). A joint block: image and text modulation (6·D each; 9·D for
 * a dual-attention block), eight attention projections, two 4·D feed-forwards; the last block's text
 * side has only a 2·D modulation, no text output projection and no text feed-forward.
 */
export function sd3Weights(s: Sd3Shape): TransformerWeights {
  const d = s.heads * s.headDim;
  const ff = linear(4 * d, d) + linear(d, 4 * d);
  const blocks = Array.from({ length: s.layers }, (_, i) => {
    const last = i === s.layers - 1;
    const dual = s.dualAttentionLayers.includes(i);
    let n = linear((dual ? 9 : 6) * d, d) + linear((last ? 2 : 6) * d, d);
    n += (last ? 7 : 8) * linear(d, d) + (s.qkNorm ? 4 * s.headDim : 0);
    if (dual) n += 4 * linear(d, d) + (s.qkNorm ? 2 * s.headDim : 0);
    return n + ff + (last ? 0 : ff);
  });
  const p = s.patchSize;
  const table = s.posEmbedMaxSize === null ? 0 : s.posEmbedMaxSize * s.posEmbedMaxSize * d;
  const embed =
    d * s.inChannels * p * p +
    d +
    table +
    timeMlp(d) +
    linear(d, s.pooledProjectionDim) +
    linear(d, d) +
    linear(s.captionProjectionDim, s.jointAttentionDim);
  return { blocks, embed, head: linear(2 * d, d) + linear(p * p * s.outChannels, d) };
}

/** The even layout made for each model given by facts only (see transformerWeights). */
const evenLayouts = new WeakMap<ModelSpec, TransformerWeights>();
/** Each carried layout's parameter total, summed once (the planner asks for the layout per candidate). */
const layoutTotals = new WeakMap<TransformerWeights, number>();

function layoutTotal(w: TransformerWeights): number {
  let total = layoutTotals.get(w);
  if (total === undefined) {
    total = totalParameters(w);
    layoutTotals.set(w, total);
  }
  return total;
}

/**
 * The model's weight layout: the exact one it carries when it still matches its facts (block count and
 * parameter total), else `facts.parameters` spread evenly over the blocks (models given by facts only).
 */
export function transformerWeights(model: ModelSpec): TransformerWeights {
  const f = model.facts;
  const w = model.weights;
  if (w && w.blocks.length === f.layers && layoutTotal(w) === f.parameters) return w;
  // The same object for the same model, so that what the planner caches per layout (its stage cuts,
  // hundreds of lookups per plan) is found again.
  const cached = evenLayouts.get(model);
  if (cached && cached.blocks.length === f.layers && cached.blocks[0] === f.parameters / f.layers)
    return cached;
  const even = { blocks: new Array<number>(f.layers).fill(f.parameters / f.layers), embed: 0, head: 0 };
  evenLayouts.set(model, even);
  return even;
}
