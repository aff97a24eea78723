/** Expected tensors of a PixArtTransformer2DModel for a config (diffusers naming, runtime.md §3). */
import type { BlockCount } from './block-counts.js';
import { dim, GroupBuilder, type ModelManifest, type TensorGroup } from './manifest.js';
import type { PixartTransformerConfig } from './pixart-config.js';

const TIME_PROJ = dim(256, 'the 256-wide timestep sinusoid (fixed)');

export function pixartManifest(c: PixartTransformerConfig): ModelManifest {
  const D = dim(c.numAttentionHeads * c.attentionHeadDim, 'num_attention_heads × attention_head_dim');
  const patch = dim(c.patchSize, 'patch_size');
  const embed = new GroupBuilder('')
    .tensor('pos_embed.proj.weight', [D, dim(c.inChannels, 'in_channels'), patch, patch])
    .tensor('pos_embed.proj.bias', [D])
    .linear('adaln_single.emb.timestep_embedder.linear_1', D, TIME_PROJ)
    .linear('adaln_single.emb.timestep_embedder.linear_2', D, D)
    .linear('adaln_single.linear', dim(6 * D.size, '6 × num_attention_heads × attention_head_dim'), D)
    .linear('caption_projection.linear_1', D, dim(c.captionChannels, 'caption_channels'))
    .linear('caption_projection.linear_2', D, D);
  const groups: TensorGroup[] = [
    { id: 'embed', kind: 'embed', executionIndex: null, tensors: embed.tensors },
  ];
  const cross = dim(c.crossAttentionDim, 'cross_attention_dim');
  const ff = dim(4 * D.size, '4 × num_attention_heads × attention_head_dim');
  for (let i = 0; i < c.numLayers; i++) {
    const b = new GroupBuilder(`transformer_blocks.${i}.`)
      .tensor('scale_shift_table', [dim(6, 'six modulation vectors (fixed)'), D])
      .linear('attn1.to_q', D, D)
      .linear('attn1.to_k', D, D)
      .linear('attn1.to_v', D, D)
      .linear('attn1.to_out.0', D, D)
      .linear('attn2.to_q', D, D)
      .linear('attn2.to_k', D, cross)
      .linear('attn2.to_v', D, cross)
      .linear('attn2.to_out.0', D, D)
      .linear('ff.net.0.proj', ff, D)
      .linear('ff.net.2', D, ff);
    groups.push({
      id: `transformer_blocks.${i}`,
      kind: 'joint-block',
      executionIndex: i,
      tensors: b.tensors,
    });
  }
  const head = new GroupBuilder('')
    .tensor('scale_shift_table', [dim(2, 'shift and scale (fixed)'), D])
    .linear('proj_out', dim(c.patchSize * c.patchSize * c.outChannels, 'patch_size² × out_channels'), D);
  groups.push({ id: 'head', kind: 'head', executionIndex: null, tensors: head.tensors });
  return { className: 'PixArtTransformer2DModel', groups };
}

export function pixartBlockCounts(c: PixartTransformerConfig): BlockCount[] {
  return [{ prefix: 'transformer_blocks', field: 'num_layers', count: c.numLayers }];
}
