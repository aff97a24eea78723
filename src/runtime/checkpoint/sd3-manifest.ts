/** Expected tensors of an SD3Transformer2DModel for a config (diffusers naming, runtime.md §2). */
import type { BlockCount } from './block-counts.js';
import { dim, GroupBuilder, type ModelManifest, type TensorGroup } from './manifest.js';
import type { Sd3TransformerConfig } from './sd3-config.js';

const TIME_PROJ = dim(256, 'the 256-wide timestep sinusoid (fixed)');

export function sd3Manifest(c: Sd3TransformerConfig): ModelManifest {
  const D = dim(c.numAttentionHeads * c.attentionHeadDim, 'num_attention_heads × attention_head_dim');
  const times = (k: number) => dim(k * D.size, `${k} × num_attention_heads × attention_head_dim`);
  const headDim = dim(c.attentionHeadDim, 'attention_head_dim');
  const patch = dim(c.patchSize, 'patch_size');

  const embed = new GroupBuilder('')
    .tensor('pos_embed.proj.weight', [D, dim(c.inChannels, 'in_channels'), patch, patch])
    .tensor('pos_embed.proj.bias', [D]);
  if (c.posEmbedMaxSize !== null) {
    // The fixed sin-cos table is a persistent buffer only when pos_embed_max_size is set.
    const cells = dim(c.posEmbedMaxSize * c.posEmbedMaxSize, 'pos_embed_max_size²');
    embed.tensor('pos_embed.pos_embed', [dim(1, 'batch of 1 (fixed)'), cells, D]);
  }
  embed
    .linear('time_text_embed.timestep_embedder.linear_1', D, TIME_PROJ)
    .linear('time_text_embed.timestep_embedder.linear_2', D, D)
    .linear('time_text_embed.text_embedder.linear_1', D, dim(c.pooledProjectionDim, 'pooled_projection_dim'))
    .linear('time_text_embed.text_embedder.linear_2', D, D)
    .linear(
      'context_embedder',
      dim(c.captionProjectionDim, 'caption_projection_dim'),
      dim(c.jointAttentionDim, 'joint_attention_dim'),
    );

  const groups: TensorGroup[] = [
    { id: 'embed', kind: 'embed', executionIndex: null, tensors: embed.tensors },
  ];
  for (let i = 0; i < c.numLayers; i++) {
    groups.push({
      id: `transformer_blocks.${i}`,
      kind: 'joint-block',
      executionIndex: i,
      tensors: jointBlock(c, i, D, times, headDim),
    });
  }
  const out = dim(c.patchSize * c.patchSize * c.outChannels, 'patch_size² × out_channels');
  const head = new GroupBuilder('').linear('norm_out.linear', times(2), D).linear('proj_out', out, D);
  groups.push({ id: 'head', kind: 'head', executionIndex: null, tensors: head.tensors });
  return { className: c.className, groups };
}

/** The block kinds the config counts, checked against the weights' names before the manifest is built. */
export function sd3BlockCounts(c: Sd3TransformerConfig): BlockCount[] {
  return [{ prefix: 'transformer_blocks', field: 'num_layers', count: c.numLayers }];
}

function jointBlock(
  c: Sd3TransformerConfig,
  i: number,
  D: ReturnType<typeof dim>,
  times: (k: number) => ReturnType<typeof dim>,
  headDim: ReturnType<typeof dim>,
) {
  // The last block only feeds the image stream: its text side has no output projection and no MLP.
  const contextPreOnly = i === c.numLayers - 1;
  const dual = c.dualAttentionLayers.includes(i);
  const b = new GroupBuilder(`transformer_blocks.${i}.`);
  // SD3.5's dual-attention blocks modulate 9 chunks instead of 6; name the field that decides it.
  const modulation = dual
    ? dim(9 * D.size, '9 × inner dim (block listed in dual_attention_layers)')
    : dim(6 * D.size, '6 × inner dim (block not in dual_attention_layers)');
  b.linear('norm1.linear', modulation, D);
  b.linear(
    'norm1_context.linear',
    contextPreOnly ? dim(2 * D.size, '2 × inner dim (last block: context_pre_only)') : times(6),
    D,
  );
  const projections = ['to_q', 'to_k', 'to_v', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_out.0'];
  if (!contextPreOnly) projections.push('to_add_out');
  for (const proj of projections) b.linear(`attn.${proj}`, D, D);
  if (c.qkNorm !== null) {
    for (const norm of ['norm_q', 'norm_k', 'norm_added_q', 'norm_added_k'])
      b.tensor(`attn.${norm}.weight`, [headDim]);
  }
  if (dual) {
    for (const proj of ['to_q', 'to_k', 'to_v', 'to_out.0']) b.linear(`attn2.${proj}`, D, D);
    if (c.qkNorm !== null)
      b.tensor('attn2.norm_q.weight', [headDim]).tensor('attn2.norm_k.weight', [headDim]);
  }
  b.linear('ff.net.0.proj', times(4), D).linear('ff.net.2', D, times(4));
  if (!contextPreOnly) b.linear('ff_context.net.0.proj', times(4), D).linear('ff_context.net.2', D, times(4));
  return b.tensors;
}
