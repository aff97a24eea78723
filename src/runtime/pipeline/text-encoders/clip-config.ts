/**
 * CLIPTextModel / CLIPTextModelWithProjection: a text encoder folder's config.json with transformers'
 * CLIPTextConfig defaults, and the tensors it implies (the projection only for the latter).
 */
import type { BlockCount } from '../../checkpoint/block-counts.js';
import { CheckpointConfigError } from '../../checkpoint/config-fields.js';
import { dim, GroupBuilder, type ModelManifest, type TensorGroup } from '../../checkpoint/manifest.js';
import type { ComponentConfig } from '../components/component-weights.js';

export type ClipActivation = 'quick_gelu' | 'gelu';

export interface ClipTextConfig {
  className: 'CLIPTextModel' | 'CLIPTextModelWithProjection';
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  maxPositions: number;
  activation: ClipActivation;
  layerNormEps: number;
  projectionDim: number;
  /** 2 in configs saved before transformers PR #24773: then the pooled token is the argmax id. */
  eosTokenId: number;
}

export function parseClipConfig(
  { fields, configFile }: ComponentConfig,
  className: ClipTextConfig['className'],
): ClipTextConfig {
  const activation = fields.optionalString('hidden_act', 'quick_gelu');
  if (activation !== 'quick_gelu' && activation !== 'gelu') {
    throw new CheckpointConfigError(
      `${configFile}: field "hidden_act" is ${JSON.stringify(activation)}; CLIP text encoders use "quick_gelu" or "gelu"`,
    );
  }
  const hiddenSize = fields.count('hidden_size', 512);
  const numHeads = fields.count('num_attention_heads', 8);
  fields.require(
    hiddenSize % numHeads === 0,
    `hidden_size ${hiddenSize} must be a multiple of num_attention_heads ${numHeads}`,
  );
  const eos = fields.count('eos_token_id', 49407);
  return {
    className,
    vocabSize: fields.count('vocab_size', 49408),
    hiddenSize,
    intermediateSize: fields.count('intermediate_size', 2048),
    numLayers: fields.blockCount('num_hidden_layers', 12),
    numHeads,
    maxPositions: fields.count('max_position_embeddings', 77),
    activation,
    layerNormEps: fields.number('layer_norm_eps', 1e-5),
    projectionDim: fields.count('projection_dim', 512),
    eosTokenId: eos,
  };
}

export function clipManifest(c: ClipTextConfig): ModelManifest {
  const d = dim(c.hiddenSize, 'hidden_size');
  const ff = dim(c.intermediateSize, 'intermediate_size');
  const embed = new GroupBuilder('text_model.embeddings.')
    .tensor('token_embedding.weight', [dim(c.vocabSize, 'vocab_size'), d])
    .tensor('position_embedding.weight', [dim(c.maxPositions, 'max_position_embeddings'), d]);
  const groups: TensorGroup[] = [
    { id: 'embed', kind: 'embed', executionIndex: null, tensors: embed.tensors },
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const b = new GroupBuilder(`text_model.encoder.layers.${i}.`);
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) b.linear(`self_attn.${p}`, d, d);
    b.tensor('layer_norm1.weight', [d]).tensor('layer_norm1.bias', [d]);
    b.linear('mlp.fc1', ff, d).linear('mlp.fc2', d, ff);
    b.tensor('layer_norm2.weight', [d]).tensor('layer_norm2.bias', [d]);
    groups.push({
      id: `text_model.encoder.layers.${i}`,
      kind: 'embed',
      executionIndex: null,
      tensors: b.tensors,
    });
  }
  const head = new GroupBuilder('')
    .tensor('text_model.final_layer_norm.weight', [d])
    .tensor('text_model.final_layer_norm.bias', [d]);
  if (c.className === 'CLIPTextModelWithProjection') {
    head.linear('text_projection', dim(c.projectionDim, 'projection_dim'), d, false);
  }
  groups.push({ id: 'head', kind: 'head', executionIndex: null, tensors: head.tensors });
  return { className: c.className, groups };
}

export function clipBlockCounts(c: ClipTextConfig): BlockCount[] {
  return [{ prefix: 'text_model.encoder.layers', field: 'num_hidden_layers', count: c.numLayers }];
}

/**
 * transformers 5 saves CLIPTextModel without the `text_model.` prefix that released checkpoints (and the
 * projection variant) carry; both load.
 */
export const clipCanonicalName = (stored: string): string =>
  stored.startsWith('text_model.') || stored === 'text_projection.weight' ? stored : `text_model.${stored}`;
