/**
 * `transformer/config.json` of a PixArtTransformer2DModel (PixArt-Σ, runtime.md §3), defaults as in
 * diffusers. Only what the Σ releases use is accepted: AdaLN-single without PixArt-α's resolution and
 * aspect-ratio micro-conditions, GELU-tanh feed-forward, a caption projection from the T5 width, and
 * cross-attention over the projected caption (cross_attention_dim = the model width).
 */
import { CONFIG_CAPS, type ConfigFields, shown } from './config-fields.js';

export interface PixartTransformerConfig {
  className: 'PixArtTransformer2DModel';
  numAttentionHeads: number;
  attentionHeadDim: number;
  inChannels: number;
  outChannels: number;
  numLayers: number;
  crossAttentionDim: number;
  sampleSize: number;
  patchSize: number;
  captionChannels: number;
  /** Position grid scale: the config's, else max(sample_size / 64, 1). */
  interpolationScale: number;
  normEps: number;
}

/** PixArtSigmaPipeline's caption: max_sequence_length 300 T5 tokens, padded, with its attention mask. */
export const PIXART_SIGMA_CAPTION_TOKENS = 300;

export const PIXART_TRANSFORMER_DEFAULTS = {
  num_attention_heads: 16,
  attention_head_dim: 72,
  in_channels: 4,
  out_channels: 8,
  num_layers: 28,
  cross_attention_dim: 1152,
  attention_bias: true,
  sample_size: 128,
  patch_size: 2,
  norm_eps: 1e-6,
} as const;

export function parsePixartConfig(fields: ConfigFields): PixartTransformerConfig {
  const d = PIXART_TRANSFORMER_DEFAULTS;
  const normType = fields.optionalString('norm_type', 'ada_norm_single');
  fields.require(
    normType === 'ada_norm_single',
    `norm_type ${shown(normType)} is not supported; PixArt uses "ada_norm_single"`,
  );
  const activation = fields.optionalString('activation_fn', 'gelu-approximate');
  fields.require(
    activation === 'gelu-approximate',
    `activation_fn ${shown(activation)} is not supported; PixArt uses "gelu-approximate"`,
  );
  const attentionType = fields.optionalString('attention_type', 'default');
  fields.require(
    attentionType === 'default',
    `attention_type ${shown(attentionType)} is not supported; use "default"`,
  );
  fields.require(
    !fields.bool('norm_elementwise_affine', false),
    'norm_elementwise_affine true is not supported (PixArt norms have no affine)',
  );
  fields.require(
    fields.bool('attention_bias', d.attention_bias),
    'attention_bias false is not supported (PixArt releases have q/k/v biases)',
  );
  fields.require(!fields.bool('upcast_attention', false), 'upcast_attention true is not supported');
  const sampleSize = fields.count('sample_size', d.sample_size);
  // diffusers: use_additional_conditions defaults to sample_size == 128 (PixArt-α 1024); Σ configs set false.
  const extra = fields.bool('use_additional_conditions', sampleSize === 128);
  fields.require(
    !extra,
    'use_additional_conditions is true (PixArt-α resolution/aspect-ratio conditions), which Tessera does not run; PixArt-Σ sets it to false',
  );
  const caption = fields.optionalCount('caption_channels', null);
  fields.require(caption !== null, 'caption_channels must be set (the width of the T5 text embeddings)');
  const inChannels = fields.count('in_channels', d.in_channels);
  const interpolation = fields.optionalCount('interpolation_scale', null);
  const config: PixartTransformerConfig = {
    className: 'PixArtTransformer2DModel',
    numAttentionHeads: fields.count('num_attention_heads', d.num_attention_heads),
    attentionHeadDim: fields.count('attention_head_dim', d.attention_head_dim),
    inChannels,
    outChannels: fields.optionalCount('out_channels', d.out_channels) ?? inChannels,
    numLayers: fields.count('num_layers', d.num_layers, CONFIG_CAPS.blocks),
    crossAttentionDim: fields.count('cross_attention_dim', d.cross_attention_dim),
    sampleSize,
    patchSize: fields.count('patch_size', d.patch_size),
    captionChannels: caption as number,
    interpolationScale: interpolation ?? Math.max(Math.floor(sampleSize / 64), 1),
    normEps: fields.number('norm_eps', d.norm_eps),
  };
  const inner = config.numAttentionHeads * config.attentionHeadDim;
  fields.require(
    config.crossAttentionDim === inner,
    `cross_attention_dim (${config.crossAttentionDim}) must equal num_attention_heads × attention_head_dim (${inner}): the caption is projected to the model width`,
  );
  fields.require(
    config.outChannels === config.inChannels || config.outChannels === 2 * config.inChannels,
    `out_channels (${config.outChannels}) must be in_channels or twice it (learned sigma)`,
  );
  return config;
}
