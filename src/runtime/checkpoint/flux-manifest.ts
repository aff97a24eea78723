/** Expected tensors of a FluxTransformer2DModel for a config (diffusers naming, runtime.md §1.2). */
import type { BlockCount } from './block-counts.js';
import type { FluxTransformerConfig } from './flux-config.js';
import { dim, GroupBuilder, type ModelManifest, type TensorGroup } from './manifest.js';

/** Width of the sinusoidal timestep projection (fixed in diffusers' Timesteps(256, ...)). */
const TIME_PROJ = dim(256, 'the 256-wide timestep sinusoid (fixed)');

export function fluxManifest(c: FluxTransformerConfig): ModelManifest {
  const D = dim(c.numAttentionHeads * c.attentionHeadDim, 'num_attention_heads × attention_head_dim');
  const times = (k: number) => dim(k * D.size, `${k} × num_attention_heads × attention_head_dim`);
  const headDim = dim(c.attentionHeadDim, 'attention_head_dim');

  const embed = new GroupBuilder('')
    .linear('x_embedder', D, dim(c.inChannels, 'in_channels'))
    .linear('context_embedder', D, dim(c.jointAttentionDim, 'joint_attention_dim'))
    .linear('time_text_embed.timestep_embedder.linear_1', D, TIME_PROJ)
    .linear('time_text_embed.timestep_embedder.linear_2', D, D);
  if (c.guidanceEmbeds) {
    embed
      .linear('time_text_embed.guidance_embedder.linear_1', D, TIME_PROJ)
      .linear('time_text_embed.guidance_embedder.linear_2', D, D);
  }
  embed
    .linear('time_text_embed.text_embedder.linear_1', D, dim(c.pooledProjectionDim, 'pooled_projection_dim'))
    .linear('time_text_embed.text_embedder.linear_2', D, D);

  const groups: TensorGroup[] = [
    { id: 'embed', kind: 'embed', executionIndex: null, tensors: embed.tensors },
  ];

  for (let i = 0; i < c.numLayers; i++) {
    const b = new GroupBuilder(`transformer_blocks.${i}.`)
      .linear('norm1.linear', times(6), D)
      .linear('norm1_context.linear', times(6), D);
    for (const proj of [
      'to_q',
      'to_k',
      'to_v',
      'add_q_proj',
      'add_k_proj',
      'add_v_proj',
      'to_out.0',
      'to_add_out',
    ]) {
      b.linear(`attn.${proj}`, D, D);
    }
    for (const norm of ['norm_q', 'norm_k', 'norm_added_q', 'norm_added_k'])
      b.tensor(`attn.${norm}.weight`, [headDim]);
    for (const ff of ['ff', 'ff_context'])
      b.linear(`${ff}.net.0.proj`, times(4), D).linear(`${ff}.net.2`, D, times(4));
    groups.push({
      id: `transformer_blocks.${i}`,
      kind: 'double-block',
      executionIndex: i,
      tensors: b.tensors,
    });
  }

  for (let j = 0; j < c.numSingleLayers; j++) {
    const b = new GroupBuilder(`single_transformer_blocks.${j}.`).linear('norm.linear', times(3), D);
    for (const proj of ['to_q', 'to_k', 'to_v']) b.linear(`attn.${proj}`, D, D);
    b.tensor('attn.norm_q.weight', [headDim]).tensor('attn.norm_k.weight', [headDim]);
    // proj_out reads concat(attention D, MLP 4D) = 5D.
    b.linear('proj_mlp', times(4), D).linear('proj_out', D, times(5));
    groups.push({
      id: `single_transformer_blocks.${j}`,
      kind: 'single-block',
      executionIndex: c.numLayers + j,
      tensors: b.tensors,
    });
  }

  const out = dim(c.patchSize * c.patchSize * c.outChannels, 'patch_size² × out_channels');
  const head = new GroupBuilder('').linear('norm_out.linear', times(2), D).linear('proj_out', out, D);
  groups.push({ id: 'head', kind: 'head', executionIndex: null, tensors: head.tensors });

  return { className: c.className, groups };
}

/** The block kinds the config counts, checked against the weights' names before the manifest is built. */
export function fluxBlockCounts(c: FluxTransformerConfig): BlockCount[] {
  return [
    { prefix: 'transformer_blocks', field: 'num_layers', count: c.numLayers },
    { prefix: 'single_transformer_blocks', field: 'num_single_layers', count: c.numSingleLayers },
  ];
}
