/**
 * SD3Transformer2DModel (SD3-medium; SD3.5 with q/k RMSNorm and dual-attention blocks), following
 * runtime.md §2. Like Flux it splits into `embed` / `runBlocks` / `head` for parallel runtimes.
 */
import type { Sd3TransformerConfig } from '../../checkpoint/sd3-config.js';
import { ops, type Tensor } from '../../native/index.js';
import { AdaLayerNormContinuous } from '../common/adaptive-norm.js';
import { type AttentionFn, localAttention } from '../common/attention.js';
import { type BlockRange, checkRange, runBlocks, type TransformerBlock } from '../common/blocks.js';
import { Linear } from '../common/linear.js';
import { applyOnPlacement, placementOf } from '../common/placement.js';
import { TwoLayerMlp, timestepProjection } from '../common/timestep-embedding.js';
import type { WeightLookup } from '../common/weights.js';
import { Sd3JointBlock } from './joint-block.js';
import { PatchEmbed, unpatchify } from './patch-embed.js';
import { releaseState, type Sd3State } from './state.js';

/** The Diffusers `forward` arguments. */
export interface Sd3Inputs {
  /** Latents [B, in_channels, H, W]. */
  hiddenStates: Tensor;
  /** [B, N_txt, joint_attention_dim] (CLIP-L/G + T5). */
  encoderHiddenStates: Tensor;
  /** [B, pooled_projection_dim]. */
  pooledProjections: Tensor;
  /** t in [0, 1000] per sample, passed as is. */
  timestep: readonly number[];
}

export interface ForwardOptions {
  attention?: AttentionFn;
}

class Sd3Embedders {
  readonly patch: PatchEmbed;
  readonly context: Linear;
  readonly time: TwoLayerMlp;
  readonly text: TwoLayerMlp;

  constructor(w: WeightLookup, config: Sd3TransformerConfig) {
    this.patch = new PatchEmbed(w, config.patchSize, config.posEmbedMaxSize);
    this.context = Linear.load(w, 'context_embedder');
    this.time = new TwoLayerMlp(w, 'time_text_embed.timestep_embedder');
    this.text = new TwoLayerMlp(w, 'time_text_embed.text_embedder');
  }
}

export class Sd3Transformer {
  readonly family = 'sd3';
  readonly blockCount: number;
  readonly blocks: ReadonlyArray<TransformerBlock<Sd3State> | null>;
  private readonly embedders: Sd3Embedders | null;
  private readonly normOut: AdaLayerNormContinuous | null;
  private readonly projOut: Linear | null;

  constructor(
    readonly config: Sd3TransformerConfig,
    weights: WeightLookup,
    readonly loaded: BlockRange = { fromBlock: 0, toBlock: config.numLayers },
  ) {
    this.blockCount = config.numLayers;
    checkRange(loaded, this.blockCount, 'SD3Transformer2DModel');
    this.blocks = Array.from({ length: this.blockCount }, (_, i) =>
      i >= loaded.fromBlock && i < loaded.toBlock ? new Sd3JointBlock(weights, i, config) : null,
    );
    this.embedders = loaded.fromBlock === 0 ? new Sd3Embedders(weights, config) : null;
    const last = loaded.toBlock === this.blockCount;
    this.normOut = last ? new AdaLayerNormContinuous(weights, 'norm_out') : null;
    this.projOut = last ? Linear.load(weights, 'proj_out') : null;
  }

  /** One full forward → `sample` [B, out_channels, H, W]. Needs every block on this rank. */
  async forward(inputs: Sd3Inputs, options: ForwardOptions = {}): Promise<Tensor> {
    const state = this.embed(inputs);
    try {
      await this.runBlocks(
        state,
        { fromBlock: 0, toBlock: this.blockCount },
        options.attention ?? localAttention,
      );
      return this.head(state);
    } finally {
      releaseState(state);
    }
  }

  embed(inputs: Sd3Inputs): Sd3State {
    const embed = this.embedders;
    if (!embed) throw new Error('SD3Transformer2DModel: the embedders live on the rank that holds block 0');
    const { rows, cols } = checkInputs(inputs, this.config);
    const placement = placementOf(embed.context.weight);
    const image = applyOnPlacement(embed.patch, inputs.hiddenStates, placement);
    // CombinedTimestepTextProjEmbeddings: TimestepEmbedding(sinusoid(t)) + TextProjection(pooled).
    const timeProj = timestepProjection(inputs.timestep, placement);
    const temb = embed.time.apply(timeProj);
    timeProj.release();
    const pooled = applyOnPlacement(embed.text, inputs.pooledProjections, placement);
    ops.add(temb, pooled, temb);
    pooled.release();
    return {
      activatedTemb: ops.silu(temb, temb),
      image,
      text: applyOnPlacement(embed.context, inputs.encoderHiddenStates, placement),
      rows,
      cols,
    };
  }

  runBlocks(state: Sd3State, range: BlockRange, attention: AttentionFn = localAttention): Promise<void> {
    return runBlocks(this.blocks, state, range, attention, 'SD3Transformer2DModel');
  }

  /** AdaLayerNormContinuous (scale, shift), proj_out, unpatchify → [B, out_channels, H, W]. */
  head(state: Sd3State): Tensor {
    if (!this.normOut || !this.projOut) {
      throw new Error('SD3Transformer2DModel: the output head lives on the rank that holds the last block');
    }
    const normed = this.normOut.apply(state.image, state.activatedTemb);
    const tokens = this.projOut.apply(normed);
    normed.release();
    const out = unpatchify(tokens, state.rows, state.cols, this.config.patchSize, this.config.outChannels);
    tokens.release();
    return out;
  }
}

function checkInputs(inputs: Sd3Inputs, config: Sd3TransformerConfig): { rows: number; cols: number } {
  const { hiddenStates: x, encoderHiddenStates: c, pooledProjections: p } = inputs;
  const shape = (t: Tensor) => `[${t.shape.join(', ')}]`;
  const patch = config.patchSize;
  if (x.rank !== 4 || x.size(1) !== config.inChannels) {
    throw new Error(
      `hidden_states must be latents [B, ${config.inChannels}, H, W] (in_channels), got ${shape(x)}`,
    );
  }
  if (x.size(2) % patch !== 0 || x.size(3) % patch !== 0) {
    throw new Error(`hidden_states ${shape(x)}: H and W must be multiples of patch_size ${patch}`);
  }
  const batch = x.size(0);
  if (c.rank !== 3 || c.size(0) !== batch || c.size(2) !== config.jointAttentionDim) {
    throw new Error(
      `encoder_hidden_states must be [${batch}, N_txt, ${config.jointAttentionDim}] (joint_attention_dim), got ${shape(c)}`,
    );
  }
  if (p.rank !== 2 || p.size(0) !== batch || p.size(1) !== config.pooledProjectionDim) {
    throw new Error(
      `pooled_projections must be [${batch}, ${config.pooledProjectionDim}] (pooled_projection_dim), got ${shape(p)}`,
    );
  }
  if (inputs.timestep.length !== batch) {
    throw new Error(`timestep has ${inputs.timestep.length} values for a batch of ${batch}`);
  }
  return { rows: x.size(2) / patch, cols: x.size(3) / patch };
}
