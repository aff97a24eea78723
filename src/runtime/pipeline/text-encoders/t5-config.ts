/**
 * T5EncoderModel (T5 v1.1, as FLUX, SD3 and PixArt-Σ use it): a text encoder folder's config.json with
 * transformers' T5Config defaults, and the tensors it implies.
 */

import type { BlockCount } from '../../checkpoint/block-counts.js';
import { CheckpointConfigError } from '../../checkpoint/config-fields.js';
import { dim, GroupBuilder, type ModelManifest, type TensorGroup } from '../../checkpoint/manifest.js';
import type { ComponentConfig } from '../components/component-weights.js';

export interface T5EncoderConfig {
  className: 'T5EncoderModel';
  vocabSize: number;
  dModel: number;
  dKv: number;
  numHeads: number;
  dFf: number;
  numLayers: number;
  relativeBuckets: number;
  relativeMaxDistance: number;
  layerNormEps: number;
}

export function parseT5Config({ fields, configFile }: ComponentConfig): T5EncoderConfig {
  const proj = fields.optionalString('feed_forward_proj', 'relu');
  if (proj !== 'gated-gelu') {
    throw new CheckpointConfigError(
      `${configFile}: field "feed_forward_proj" is ${JSON.stringify(proj)}; Tessera runs T5 v1.1 encoders ("gated-gelu")`,
    );
  }
  const act = fields.optionalString('dense_act_fn', 'gelu_new');
  if (act !== 'gelu_new') {
    throw new CheckpointConfigError(
      `${configFile}: field "dense_act_fn" is ${JSON.stringify(act)}; expected "gelu_new"`,
    );
  }
  return {
    className: 'T5EncoderModel',
    vocabSize: fields.count('vocab_size', 32128),
    dModel: fields.count('d_model', 512),
    dKv: fields.count('d_kv', 64),
    numHeads: fields.count('num_heads', 8),
    dFf: fields.count('d_ff', 2048),
    numLayers: fields.blockCount('num_layers', 6),
    relativeBuckets: fields.count('relative_attention_num_buckets', 32),
    relativeMaxDistance: fields.count('relative_attention_max_distance', 128),
    layerNormEps: fields.number('layer_norm_epsilon', 1e-6),
  };
}

/** The embedding is tied: files store it as shared.weight, encoder.embed_tokens.weight, or both. */
export const T5_EMBEDDING = 'shared.weight';
export const t5CanonicalName = (stored: string): string =>
  stored === 'encoder.embed_tokens.weight' ? T5_EMBEDDING : stored;

export function t5Manifest(c: T5EncoderConfig): ModelManifest {
  const d = dim(c.dModel, 'd_model');
  const inner = dim(c.numHeads * c.dKv, 'num_heads × d_kv');
  const ff = dim(c.dFf, 'd_ff');
  const embed = new GroupBuilder('').tensor(T5_EMBEDDING, [dim(c.vocabSize, 'vocab_size'), d]);
  const groups: TensorGroup[] = [
    { id: 'embed', kind: 'embed', executionIndex: null, tensors: embed.tensors },
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const b = new GroupBuilder(`encoder.block.${i}.`);
    for (const p of ['q', 'k', 'v']) b.linear(`layer.0.SelfAttention.${p}`, inner, d, false);
    b.linear('layer.0.SelfAttention.o', d, inner, false);
    if (i === 0) {
      b.tensor('layer.0.SelfAttention.relative_attention_bias.weight', [
        dim(c.relativeBuckets, 'relative_attention_num_buckets'),
        dim(c.numHeads, 'num_heads'),
      ]);
    }
    b.tensor('layer.0.layer_norm.weight', [d]);
    b.linear('layer.1.DenseReluDense.wi_0', ff, d, false);
    b.linear('layer.1.DenseReluDense.wi_1', ff, d, false);
    b.linear('layer.1.DenseReluDense.wo', d, ff, false);
    b.tensor('layer.1.layer_norm.weight', [d]);
    groups.push({ id: `encoder.block.${i}`, kind: 'embed', executionIndex: null, tensors: b.tensors });
  }
  groups.push({
    id: 'head',
    kind: 'head',
    executionIndex: null,
    tensors: new GroupBuilder('encoder.').tensor('final_layer_norm.weight', [d]).tensors,
  });
  return { className: 'T5EncoderModel', groups };
}

export function t5BlockCounts(c: T5EncoderConfig): BlockCount[] {
  return [{ prefix: 'encoder.block', field: 'num_layers', count: c.numLayers }];
}
