/** `transformer/config.json` of a FluxTransformer2DModel (runtime.md §1.1), defaults as in diffusers. */
import { type ConfigFields, shown } from './config-fields.js';

export interface FluxTransformerConfig {
  className: 'FluxTransformer2DModel';
  patchSize: number;
  inChannels: number;
  /** null in the file means in_channels. */
  outChannels: number;
  numLayers: number;
  numSingleLayers: number;
  attentionHeadDim: number;
  numAttentionHeads: number;
  jointAttentionDim: number;
  pooledProjectionDim: number;
  guidanceEmbeds: boolean;
  axesDimsRope: number[];
}

export const FLUX_TRANSFORMER_DEFAULTS = {
  patch_size: 1,
  in_channels: 64,
  out_channels: null,
  num_layers: 19,
  num_single_layers: 38,
  attention_head_dim: 128,
  num_attention_heads: 24,
  joint_attention_dim: 4096,
  pooled_projection_dim: 768,
  guidance_embeds: false,
  axes_dims_rope: [16, 56, 56],
} as const;

export function parseFluxConfig(fields: ConfigFields): FluxTransformerConfig {
  const d = FLUX_TRANSFORMER_DEFAULTS;
  const inChannels = fields.count('in_channels', d.in_channels);
  const config: FluxTransformerConfig = {
    className: 'FluxTransformer2DModel',
    patchSize: fields.count('patch_size', d.patch_size),
    inChannels,
    // diffusers: `out_channels or in_channels`
    outChannels: fields.optionalCount('out_channels', d.out_channels) ?? inChannels,
    numLayers: fields.blockCount('num_layers', d.num_layers),
    numSingleLayers: fields.blockCount('num_single_layers', d.num_single_layers),
    attentionHeadDim: fields.count('attention_head_dim', d.attention_head_dim),
    numAttentionHeads: fields.count('num_attention_heads', d.num_attention_heads),
    jointAttentionDim: fields.count('joint_attention_dim', d.joint_attention_dim),
    pooledProjectionDim: fields.count('pooled_projection_dim', d.pooled_projection_dim),
    guidanceEmbeds: fields.bool('guidance_embeds', d.guidance_embeds),
    axesDimsRope: fields.integers('axes_dims_rope', d.axes_dims_rope),
  };
  const ropeSum = config.axesDimsRope.reduce((a, b) => a + b, 0);
  fields.require(
    config.axesDimsRope.length === 3 && config.axesDimsRope.every((x) => x % 2 === 0),
    `axes_dims_rope must be three even numbers (one per id axis), got ${shown(config.axesDimsRope)}`,
  );
  fields.require(
    ropeSum === config.attentionHeadDim,
    `axes_dims_rope ${shown(config.axesDimsRope)} sums to ${ropeSum} but attention_head_dim is ` +
      `${config.attentionHeadDim}; RoPE covers the whole head, so they must be equal`,
  );
  fields.require(
    config.inChannels % 4 === 0,
    `in_channels must be a multiple of 4 (latent channels × 2×2 packing), got ${config.inChannels}`,
  );
  return config;
}
