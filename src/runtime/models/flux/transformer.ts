/**
 * FluxTransformer2DModel (FLUX.1-dev with the guidance embedding, FLUX.1-schnell without), following
 * runtime.md §1.4. The forward is split in three so parallel runtimes can wrap it: `embed` (stage 0),
 * `runBlocks` (any contiguous range, with an injected attention), `head` (last stage).
 */
import type { FluxTransformerConfig } from '../../checkpoint/flux-config.js';
import { ops, type Tensor } from '../../native/index.js';
import { AdaLayerNormContinuous } from '../common/adaptive-norm.js';
import { type AttentionFn, localAttention } from '../common/attention.js';
import { type BlockRange, checkRange, runBlocks, type TransformerBlock } from '../common/blocks.js';
import { Linear } from '../common/linear.js';
import { applyOnPlacement, type Placement, placementOf } from '../common/placement.js';
import { TwoLayerMlp, timestepProjection } from '../common/timestep-embedding.js';
import type { WeightLookup } from '../common/weights.js';
import { FluxDoubleBlock } from './double-block.js';
import { RopeTableCache } from './rope.js';
import { FluxSingleBlock } from './single-block.js';
import { type FluxState, imageStream, releaseState } from './state.js';

/** The Diffusers `forward` arguments (2-D ids). */
export interface FluxInputs {
  /** Packed latents [B, N_img, in_channels]. */
  hiddenStates: Tensor;
  /** T5 states [B, N_txt, joint_attention_dim]. */
  encoderHiddenStates: Tensor;
  /** CLIP pooled [B, pooled_projection_dim]. */
  pooledProjections: Tensor;
  /** sigma per sample (the pipeline passes t/1000; the model multiplies by 1000). */
  timestep: readonly number[];
  /** Guidance scale per sample; required exactly when config.guidanceEmbeds. */
  guidance?: readonly number[];
  imgIds: Tensor;
  txtIds: Tensor;
}

export interface ForwardOptions {
  attention?: AttentionFn;
}

/** Embedders and conditioning, present on the rank that runs block 0. */
class FluxEmbedders {
  readonly image: Linear;
  readonly context: Linear;
  readonly time: TwoLayerMlp;
  readonly guidance: TwoLayerMlp | null;
  readonly text: TwoLayerMlp;
  /** Where the forward computes: the inputs are brought there, the timesteps projected there. */
  readonly placement: Placement;
  readonly rope: RopeTableCache;

  constructor(w: WeightLookup, config: FluxTransformerConfig) {
    this.image = Linear.load(w, 'x_embedder');
    this.placement = placementOf(this.image.weight);
    this.rope = new RopeTableCache(config.axesDimsRope, this.placement.device);
    this.context = Linear.load(w, 'context_embedder');
    this.time = new TwoLayerMlp(w, 'time_text_embed.timestep_embedder');
    this.guidance = config.guidanceEmbeds ? new TwoLayerMlp(w, 'time_text_embed.guidance_embedder') : null;
    this.text = new TwoLayerMlp(w, 'time_text_embed.text_embedder');
  }
}

/**
 * temb = TimestepEmbedding(sinusoid(σ·1000)) [+ GuidanceEmbedding(sinusoid(g·1000))] + TextProjection(pooled),
 * summed in diffusers' order. Timesteps and guidance are float32 before and after the ×1000.
 */
function conditioning(embed: FluxEmbedders, inputs: FluxInputs, batch: number): Tensor {
  const thousand = (values: readonly number[]) => values.map((v) => Math.fround(Math.fround(v) * 1000));
  const { placement } = embed;
  const timeProj = timestepProjection(thousand(inputs.timestep), placement);
  const temb = embed.time.apply(timeProj);
  timeProj.release();
  if (embed.guidance) {
    if (!inputs.guidance) {
      throw new Error(
        'guidance is required: this Flux checkpoint has guidance_embeds = true (FLUX.1-dev style)',
      );
    }
    const guidanceProj = timestepProjection(
      thousand(scalarCount(inputs.guidance, 'guidance', batch)),
      placement,
    );
    const g = embed.guidance.apply(guidanceProj);
    ops.add(temb, g, temb);
    releaseBoth(guidanceProj, g);
  }
  const pooled = applyOnPlacement(embed.text, inputs.pooledProjections, placement);
  ops.add(temb, pooled, temb);
  pooled.release();
  return temb;
}

export class FluxTransformer {
  readonly family = 'flux';
  readonly blockCount: number;
  /** Indexed by execution order; null where this rank did not load the block. */
  readonly blocks: ReadonlyArray<TransformerBlock<FluxState> | null>;
  private readonly embedders: FluxEmbedders | null;
  private readonly normOut: AdaLayerNormContinuous | null;
  private readonly projOut: Linear | null;

  /** Builds the blocks of `loaded` (default: all) from `weights`, which must hold their tensors. */
  constructor(
    readonly config: FluxTransformerConfig,
    weights: WeightLookup,
    readonly loaded: BlockRange = { fromBlock: 0, toBlock: config.numLayers + config.numSingleLayers },
  ) {
    this.blockCount = config.numLayers + config.numSingleLayers;
    checkRange(loaded, this.blockCount, 'FluxTransformer2DModel');
    const heads = config.numAttentionHeads;
    this.blocks = Array.from({ length: this.blockCount }, (_, i) => {
      if (i < loaded.fromBlock || i >= loaded.toBlock) return null;
      return i < config.numLayers
        ? new FluxDoubleBlock(weights, i, heads)
        : new FluxSingleBlock(weights, i - config.numLayers, i, heads);
    });
    this.embedders = loaded.fromBlock === 0 ? new FluxEmbedders(weights, config) : null;
    const last = loaded.toBlock === this.blockCount;
    this.normOut = last ? new AdaLayerNormContinuous(weights, 'norm_out') : null;
    this.projOut = last ? Linear.load(weights, 'proj_out') : null;
  }

  /** One full forward → `sample` [B, N_img, out_channels]. Needs every block on this rank. */
  async forward(inputs: FluxInputs, options: ForwardOptions = {}): Promise<Tensor> {
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

  /** Embeds the inputs: image/text streams, conditioning, rotary tables of [txt_ids; img_ids]. */
  embed(inputs: FluxInputs): FluxState {
    const embed = this.embedders;
    if (!embed) throw new Error('FluxTransformer2DModel: the embedders live on the rank that holds block 0');
    const batch = checkInputs(inputs, this.config);
    const temb = conditioning(embed, inputs, batch);
    const activatedTemb = ops.silu(temb, temb);
    const ids = ops.concat([twoDimIds(inputs.txtIds), twoDimIds(inputs.imgIds)], 0);
    const rope = embed.rope.tablesFor(ids);
    ids.release();
    return {
      activatedTemb,
      rope,
      streams: {
        kind: 'separate',
        text: applyOnPlacement(embed.context, inputs.encoderHiddenStates, embed.placement),
        image: applyOnPlacement(embed.image, inputs.hiddenStates, embed.placement),
      },
    };
  }

  runBlocks(state: FluxState, range: BlockRange, attention: AttentionFn = localAttention): Promise<void> {
    return runBlocks(this.blocks, state, range, attention, 'FluxTransformer2DModel');
  }

  /** AdaLayerNormContinuous (scale, shift) and proj_out on the image tokens → [B, N_img, out_channels]. */
  head(state: FluxState): Tensor {
    if (!this.normOut || !this.projOut) {
      throw new Error('FluxTransformer2DModel: the output head lives on the rank that holds the last block');
    }
    const image = imageStream(state);
    const normed = this.normOut.apply(image, state.activatedTemb);
    if (state.streams.kind === 'joint') image.release();
    const out = this.projOut.apply(normed);
    normed.release();
    return out;
  }
}

/** Diffusers still accepts deprecated 3-D ids [1, N, 3] and reads batch 0; so do we. */
function twoDimIds(ids: Tensor): Tensor {
  return ids.rank === 3 && ids.size(0) === 1 ? ids.reshape([ids.size(1), ids.size(2)]) : ids;
}

function releaseBoth(a: Tensor, b: Tensor): void {
  a.release();
  b.release();
}

function scalarCount(values: readonly number[], name: string, batch: number): readonly number[] {
  if (values.length !== batch) throw new Error(`${name} has ${values.length} values for a batch of ${batch}`);
  return values;
}

/** Checks shapes against the config; returns the batch size. Errors name the input and the fix. */
function checkInputs(inputs: FluxInputs, config: FluxTransformerConfig): number {
  const { hiddenStates: x, encoderHiddenStates: c, pooledProjections: p } = inputs;
  const imgIds = twoDimIds(inputs.imgIds);
  const txtIds = twoDimIds(inputs.txtIds);
  const shape = (t: Tensor) => `[${t.shape.join(', ')}]`;
  if (x.rank !== 3 || x.size(2) !== config.inChannels) {
    throw new Error(
      `hidden_states must be packed latents [B, N_img, ${config.inChannels}] (in_channels), got ${shape(x)}`,
    );
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
  if (imgIds.rank !== 2 || imgIds.size(0) !== x.size(1) || imgIds.size(1) !== 3) {
    throw new Error(`img_ids must be [${x.size(1)}, 3] (one row per image token), got ${shape(imgIds)}`);
  }
  if (txtIds.rank !== 2 || txtIds.size(0) !== c.size(1) || txtIds.size(1) !== 3) {
    throw new Error(`txt_ids must be [${c.size(1)}, 3] (one row per text token), got ${shape(txtIds)}`);
  }
  scalarCount(inputs.timestep, 'timestep', batch);
  return batch;
}
