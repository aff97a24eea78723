/** `transformer/config.json` of an SD3Transformer2DModel (runtime.md §2), defaults as in diffusers. */
import { CONFIG_CAPS, type ConfigFields, shown } from './config-fields.js';

/** q/k normalisations the released SD3 / SD3.5 configs use. */
export type Sd3QkNorm = 'rms_norm' | null;

export interface Sd3TransformerConfig {
  className: 'SD3Transformer2DModel';
  sampleSize: number;
  patchSize: number;
  inChannels: number;
  numLayers: number;
  attentionHeadDim: number;
  numAttentionHeads: number;
  jointAttentionDim: number;
  captionProjectionDim: number;
  pooledProjectionDim: number;
  outChannels: number;
  /** null: no stored table (diffusers then builds one per resolution, not persisted). */
  posEmbedMaxSize: number | null;
  /** Blocks with the second (image-only) attention of SD3.5. */
  dualAttentionLayers: number[];
  qkNorm: Sd3QkNorm;
}

export const SD3_TRANSFORMER_DEFAULTS = {
  sample_size: 128,
  patch_size: 2,
  in_channels: 16,
  num_layers: 18,
  attention_head_dim: 64,
  num_attention_heads: 18,
  joint_attention_dim: 4096,
  caption_projection_dim: 1152,
  pooled_projection_dim: 2048,
  out_channels: 16,
  pos_embed_max_size: 96,
  dual_attention_layers: [],
  qk_norm: null,
} as const;

export function parseSd3Config(fields: ConfigFields): Sd3TransformerConfig {
  const d = SD3_TRANSFORMER_DEFAULTS;
  const inChannels = fields.count('in_channels', d.in_channels);
  const qkNorm = fields.optionalString('qk_norm', d.qk_norm);
  fields.require(
    qkNorm === null || qkNorm === 'rms_norm',
    `qk_norm ${shown(qkNorm)} is not supported; SD3/SD3.5 use null or "rms_norm"`,
  );
  const config: Sd3TransformerConfig = {
    className: 'SD3Transformer2DModel',
    sampleSize: fields.count('sample_size', d.sample_size),
    patchSize: fields.count('patch_size', d.patch_size),
    inChannels,
    numLayers: fields.count('num_layers', d.num_layers, CONFIG_CAPS.blocks),
    attentionHeadDim: fields.count('attention_head_dim', d.attention_head_dim),
    numAttentionHeads: fields.count('num_attention_heads', d.num_attention_heads),
    jointAttentionDim: fields.count('joint_attention_dim', d.joint_attention_dim),
    captionProjectionDim: fields.count('caption_projection_dim', d.caption_projection_dim),
    pooledProjectionDim: fields.count('pooled_projection_dim', d.pooled_projection_dim),
    // diffusers: `out_channels if out_channels is not None else in_channels`
    outChannels: fields.optionalCount('out_channels', d.out_channels) ?? inChannels,
    posEmbedMaxSize: fields.optionalCount('pos_embed_max_size', d.pos_embed_max_size),
    dualAttentionLayers: fields.integers('dual_attention_layers', d.dual_attention_layers),
    qkNorm: qkNorm === 'rms_norm' ? 'rms_norm' : null,
  };
  const inner = config.numAttentionHeads * config.attentionHeadDim;
  fields.require(
    config.captionProjectionDim === inner,
    `caption_projection_dim (${config.captionProjectionDim}) must equal num_attention_heads × attention_head_dim ` +
      `(${inner}): the text stream joins the image stream's attention`,
  );
  const outside = config.dualAttentionLayers.find((i) => i >= config.numLayers);
  fields.require(
    outside === undefined,
    `dual_attention_layers lists block ${outside}, but num_layers is ${config.numLayers}`,
  );
  return config;
}
