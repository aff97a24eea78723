/**
 * PixArtTransformer2DModel (PixArt-Σ), following runtime.md §3: patch embedding plus the sin-cos table of
 * the latent grid; AdaLN-single (t6 = Linear(SiLU(TimestepEmbedding(sinusoid(t))))) shared by every block;
 * the caption projected from the T5 width (Linear → GELU-tanh → Linear); the blocks (block.ts); and the
 * head: (shift, scale) = scale_shift_table + the timestep embedding — shift first here — then LN, proj_out
 * and unpatchify to [B, out_channels, H, W] (learned sigma in the second half of the channels). Like FLUX
 * and SD3 it splits into `embed` / `runBlocks` / `head` for the parallel runtimes.
 */
import type { PixartTransformerConfig } from '../../checkpoint/pixart-config.js';
import { ops, type Tensor } from '../../native/index.js';
import { normModulate, releaseAll } from '../common/adaptive-norm.js';
import type { AttentionFn } from '../common/attention.js';
import { type BlockRange, runBlocks, type TransformerBlock } from '../common/blocks.js';
import { Linear } from '../common/linear.js';
import { applyOnPlacement, onPlacement, type Placement, placementOf } from '../common/placement.js';
import { blocksInRange, checkPatchedLatents, forwardAllBlocks, shapeOf } from '../common/staged-model.js';
import { TwoLayerMlp, timestepProjection } from '../common/timestep-embedding.js';
import type { WeightLookup } from '../common/weights.js';
import { unpatchify } from '../sd3/patch-embed.js';
import { PixartBlock } from './block.js';
import { PositionTableCache } from './position-table.js';
import { type PixartState, releaseState } from './state.js';

/** The Diffusers `forward` arguments. */
export interface PixartInputs {
  /** Latents [B, in_channels, H, W]. */
  hiddenStates: Tensor;
  /** T5 states [B, S, caption_channels]. */
  encoderHiddenStates: Tensor;
  /** [B, S]: 1 for tokens, 0 for padding; null attends to every token. */
  encoderAttentionMask: Tensor | null;
  /** Integer DDPM timesteps (0..999), one per sample. */
  timestep: readonly number[];
  /**
   * The tokens `encoderAttentionMask` keeps (keptTokens), when the caller read them already: a request's
   * mask is the same at every step, and on a GPU reading it back every step is a copy per step.
   */
  captionTokens?: (readonly number[])[] | null;
}

class CaptionProjection {
  private readonly first: Linear;
  private readonly second: Linear;

  constructor(w: WeightLookup) {
    this.first = Linear.load(w, 'caption_projection.linear_1');
    this.second = Linear.load(w, 'caption_projection.linear_2');
  }

  apply(x: Tensor): Tensor {
    const hidden = this.first.apply(x);
    ops.gelu(hidden, hidden);
    const out = this.second.apply(hidden);
    hidden.release();
    return out;
  }
}

class PixartEmbedders {
  readonly patch: { weight: Tensor; bias: Tensor };
  readonly time: TwoLayerMlp;
  readonly adaln: Linear;
  readonly caption: CaptionProjection;
  /** Where the forward computes: the inputs are brought there, the timesteps projected there. */
  readonly placement: Placement;
  readonly positions: PositionTableCache;

  constructor(w: WeightLookup, config: PixartTransformerConfig) {
    this.patch = { weight: w.get('pos_embed.proj.weight'), bias: w.get('pos_embed.proj.bias') };
    this.time = new TwoLayerMlp(w, 'adaln_single.emb.timestep_embedder');
    this.adaln = Linear.load(w, 'adaln_single.linear');
    this.caption = new CaptionProjection(w);
    this.placement = placementOf(this.patch.weight);
    this.positions = new PositionTableCache(
      this.placement,
      config.sampleSize / config.patchSize,
      config.interpolationScale,
    );
  }
}

/** Per sample, the indices of the tokens a [B, S] mask keeps (null when it keeps them all). */
export function keptTokens(mask: Tensor | null): number[][] | null {
  if (!mask) return null;
  const [batch, seq] = mask.shape as [number, number];
  const values = mask.toFloat32Array();
  const kept = Array.from({ length: batch }, (_, b) => {
    const row: number[] = [];
    for (let s = 0; s < seq; s++) if ((values[b * seq + s] as number) !== 0) row.push(s);
    if (row.length === 0)
      throw new Error(`encoder_attention_mask masks every token of sample ${b}; keep at least one`);
    return row;
  });
  return kept.every((row) => row.length === seq) ? null : kept;
}

export class PixartTransformer {
  readonly family = 'pixart';
  readonly blockCount: number;
  readonly blocks: ReadonlyArray<TransformerBlock<PixartState> | null>;
  private readonly embedders: PixartEmbedders | null;
  private readonly headTable: Tensor | null;
  private readonly projOut: Linear | null;

  constructor(
    readonly config: PixartTransformerConfig,
    weights: WeightLookup,
    readonly loaded: BlockRange = { fromBlock: 0, toBlock: config.numLayers },
  ) {
    this.blockCount = config.numLayers;
    this.blocks = blocksInRange(
      this.blockCount,
      loaded,
      'PixArtTransformer2DModel',
      (i) => new PixartBlock(weights, i, config),
    );
    this.embedders = loaded.fromBlock === 0 ? new PixartEmbedders(weights, config) : null;
    const last = loaded.toBlock === this.blockCount;
    this.headTable = last ? weights.get('scale_shift_table') : null;
    this.projOut = last ? Linear.load(weights, 'proj_out') : null;
  }

  /** One full forward → `sample` [B, out_channels, H, W]. Needs every block on this rank. */
  forward(inputs: PixartInputs, options: { attention?: AttentionFn } = {}): Promise<Tensor> {
    return forwardAllBlocks(this, inputs, releaseState, options.attention);
  }

  embed(inputs: PixartInputs): PixartState {
    const embed = this.embedders;
    if (!embed)
      throw new Error('PixArtTransformer2DModel: the embedders live on the rank that holds block 0');
    const { rows, cols } = checkInputs(inputs, this.config);
    const width = this.config.numAttentionHeads * this.config.attentionHeadDim;
    const p = this.config.patchSize;
    const { placement } = embed;
    const latents = onPlacement(inputs.hiddenStates, placement);
    const conv = ops.conv2d(latents, embed.patch.weight, { bias: embed.patch.bias, stride: p });
    if (latents !== inputs.hiddenStates) latents.release();
    const flat = conv.reshape([conv.size(0), width, rows * cols]);
    const image = ops.permute(flat, [0, 2, 1]);
    releaseAll([conv, flat]);
    const table = embed.positions.tableFor(rows, cols, width);
    ops.add(image, table, image);
    table.release();
    const sinusoid = timestepProjection(inputs.timestep, placement);
    const embeddedTimestep = embed.time.apply(sinusoid);
    sinusoid.release();
    const activated = ops.silu(embeddedTimestep);
    const modulation = embed.adaln.apply(activated);
    activated.release();
    return {
      modulation,
      embeddedTimestep,
      image,
      caption: applyOnPlacement(embed.caption, inputs.encoderHiddenStates, placement),
      captionTokens:
        inputs.captionTokens !== undefined ? inputs.captionTokens : keptTokens(inputs.encoderAttentionMask),
      rows,
      cols,
    };
  }

  runBlocks(state: PixartState, range: BlockRange, attention: AttentionFn): Promise<void> {
    return runBlocks(this.blocks, state, range, attention, 'PixArtTransformer2DModel');
  }

  /** (shift, scale) = scale_shift_table + timestep embedding; LN·(1 + scale) + shift; proj_out; unpatchify. */
  head(state: PixartState): Tensor {
    if (!this.headTable || !this.projOut) {
      throw new Error(
        'PixArtTransformer2DModel: the output head lives on the rank that holds the last block',
      );
    }
    // Each row of the [2, D] table plus the [B, D] embedding: a [D] operand, which both devices broadcast.
    const row = (k: number) => {
      const view = (this.headTable as Tensor).narrow(0, k, 1);
      const vector = view.reshape([view.size(1)]);
      const sum = ops.add(state.embeddedTimestep, vector);
      releaseAll([view, vector]);
      return sum;
    };
    const shift = row(0);
    const scale = row(1);
    const normed = normModulate(state.image, shift, scale);
    const tokens = this.projOut.apply(normed);
    const out = unpatchify(tokens, state.rows, state.cols, this.config.patchSize, this.config.outChannels);
    releaseAll([shift, scale, normed, tokens]);
    return out;
  }
}

function checkInputs(inputs: PixartInputs, config: PixartTransformerConfig): { rows: number; cols: number } {
  const { hiddenStates: x, encoderHiddenStates: c, encoderAttentionMask: m } = inputs;
  const grid = checkPatchedLatents(x, config.inChannels, config.patchSize);
  const batch = x.size(0);
  if (c.rank !== 3 || c.size(0) !== batch || c.size(2) !== config.captionChannels) {
    throw new Error(
      `encoder_hidden_states must be [${batch}, S, ${config.captionChannels}] (caption_channels), got ${shapeOf(c)}`,
    );
  }
  if (m && (m.rank !== 2 || m.size(0) !== batch || m.size(1) !== c.size(1))) {
    throw new Error(
      `encoder_attention_mask must be [${batch}, ${c.size(1)}] (one entry per text token), got ${shapeOf(m)}`,
    );
  }
  if (inputs.timestep.length !== batch) {
    throw new Error(`timestep has ${inputs.timestep.length} values for a batch of ${batch}`);
  }
  return grid;
}
