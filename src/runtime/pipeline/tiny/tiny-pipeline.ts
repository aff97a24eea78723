/**
 * A complete tiny FLUX.1-dev-like pipeline in the Diffusers layout, written on this machine from seeded
 * values (no download): model_index.json, scheduler, transformer (launcher/demo's tiny FLUX), a CLIP-L and
 * a T5 text encoder with their tokenizers, and an AutoencoderKL with an encoder and a decoder. Real names,
 * shapes and configs throughout, so Tessera loads it through the checked paths and Diffusers loads it too
 * (the pipeline benchmark runs both on it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTensors } from '../../checkpoint/manifest.js';
import { DEMO_FLUX, type TinyFluxShape, writeTinyFlux } from '../../launcher/demo/tiny-checkpoint.js';
import { type ClipTextConfig, clipManifest } from '../text-encoders/clip-config.js';
import { type T5EncoderConfig, t5Manifest } from '../text-encoders/t5-config.js';
import { upBlockChannels, type VaeConfig, vaeManifest } from '../vae/vae-config.js';
import { writeSeededWeights } from './seeded-weights.js';
import { writeTinyClipTokenizer, writeTinyT5Tokenizer } from './tiny-tokenizers.js';

export interface TinyPipelineShape {
  flux: TinyFluxShape;
  clipLayers: number;
  t5Layers: number;
  vaeBlocks: number[];
}

/** The demo's: the tiny FLUX (4 latent channels, T5 and pooled widths 32), 2-layer encoders, an 8× VAE. */
export const DEMO_PIPELINE: TinyPipelineShape = {
  flux: DEMO_FLUX,
  clipLayers: 2,
  t5Layers: 2,
  vaeBlocks: [16, 16, 32, 32],
};

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A component folder: its config.json and one file of seeded weights. */
function writeComponent(
  dir: string,
  config: Record<string, unknown>,
  weightsFile: string,
  tensors: readonly { name: string; shape: number[] }[],
  seed: number,
): void {
  writeJson(join(dir, 'config.json'), config);
  writeSeededWeights(join(dir, weightsFile), tensors, seed);
}

/** The VAE's encoder tensors (diffusers Encoder): written so that Diffusers finds a whole AutoencoderKL. */
function vaeEncoderTensors(c: VaeConfig): { name: string; shape: number[] }[] {
  const out: { name: string; shape: number[] }[] = [];
  const conv = (name: string, o: number, i: number, k: number) =>
    out.push({ name: `${name}.weight`, shape: [o, i, k, k] }, { name: `${name}.bias`, shape: [o] });
  const norm = (name: string, ch: number) =>
    out.push({ name: `${name}.weight`, shape: [ch] }, { name: `${name}.bias`, shape: [ch] });
  const resnet = (name: string, i: number, o: number) => {
    norm(`${name}.norm1`, i);
    conv(`${name}.conv1`, o, i, 3);
    norm(`${name}.norm2`, o);
    conv(`${name}.conv2`, o, o, 3);
    if (i !== o) conv(`${name}.conv_shortcut`, o, i, 1);
  };
  const blocks = c.blockOutChannels;
  conv('encoder.conv_in', blocks[0] as number, 3, 3);
  let input = blocks[0] as number;
  blocks.forEach((output, b) => {
    for (let j = 0; j < c.layersPerBlock; j++)
      resnet(`encoder.down_blocks.${b}.resnets.${j}`, j === 0 ? input : output, output);
    if (b < blocks.length - 1) conv(`encoder.down_blocks.${b}.downsamplers.0.conv`, output, output, 3);
    input = output;
  });
  const top = blocks.at(-1) as number;
  resnet('encoder.mid_block.resnets.0', top, top);
  norm('encoder.mid_block.attentions.0.group_norm', top);
  for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
    out.push(
      { name: `encoder.mid_block.attentions.0.${p}.weight`, shape: [top, top] },
      { name: `encoder.mid_block.attentions.0.${p}.bias`, shape: [top] },
    );
  }
  resnet('encoder.mid_block.resnets.1', top, top);
  norm('encoder.conv_norm_out', top);
  conv('encoder.conv_out', 2 * c.latentChannels, top, 3);
  return out;
}

export function writeTinyPipeline(
  folder: string,
  shape: TinyPipelineShape = DEMO_PIPELINE,
  seed = 1,
): string {
  writeTinyFlux(folder, shape.flux, seed);
  const f = shape.flux;
  const clipVocab = writeTinyClipTokenizer(join(folder, 'tokenizer'));
  const t5Vocab = writeTinyT5Tokenizer(join(folder, 'tokenizer_2'));

  const clip: ClipTextConfig = {
    className: 'CLIPTextModel',
    vocabSize: clipVocab,
    hiddenSize: f.pooledProjectionDim,
    intermediateSize: 2 * f.pooledProjectionDim,
    numLayers: shape.clipLayers,
    numHeads: 2,
    maxPositions: 77,
    activation: 'quick_gelu',
    layerNormEps: 1e-5,
    projectionDim: f.pooledProjectionDim,
    eosTokenId: clipVocab - 1,
  };
  writeComponent(
    join(folder, 'text_encoder'),
    {
      architectures: ['CLIPTextModel'],
      model_type: 'clip_text_model',
      vocab_size: clip.vocabSize,
      hidden_size: clip.hiddenSize,
      intermediate_size: clip.intermediateSize,
      num_hidden_layers: clip.numLayers,
      num_attention_heads: clip.numHeads,
      max_position_embeddings: 77,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      projection_dim: clip.projectionDim,
      bos_token_id: clipVocab - 2,
      eos_token_id: clipVocab - 1,
      pad_token_id: clipVocab - 1,
      attention_dropout: 0,
    },
    'model.safetensors',
    allTensors(clipManifest(clip)),
    seed + 11,
  );

  const t5: T5EncoderConfig = {
    className: 'T5EncoderModel',
    vocabSize: t5Vocab,
    dModel: f.jointAttentionDim,
    dKv: 8,
    numHeads: 4,
    dFf: 2 * f.jointAttentionDim,
    numLayers: shape.t5Layers,
    relativeBuckets: 32,
    relativeMaxDistance: 128,
    layerNormEps: 1e-6,
  };
  writeComponent(
    join(folder, 'text_encoder_2'),
    {
      architectures: ['T5EncoderModel'],
      model_type: 't5',
      vocab_size: t5.vocabSize,
      d_model: t5.dModel,
      d_kv: t5.dKv,
      num_heads: t5.numHeads,
      d_ff: t5.dFf,
      num_layers: t5.numLayers,
      relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128,
      feed_forward_proj: 'gated-gelu',
      dense_act_fn: 'gelu_new',
      is_gated_act: true,
      layer_norm_epsilon: 1e-6,
      dropout_rate: 0,
      tie_word_embeddings: false,
      is_encoder_decoder: false,
      use_cache: false,
    },
    'model.safetensors',
    allTensors(t5Manifest(t5)),
    seed + 12,
  );

  const vae: VaeConfig = {
    className: 'AutoencoderKL',
    latentChannels: f.inChannels / 4,
    outChannels: 3,
    blockOutChannels: shape.vaeBlocks,
    layersPerBlock: 1,
    normGroups: 8,
    scalingFactor: 0.3611,
    shiftFactor: 0.1159,
    usePostQuantConv: false,
    midBlockAttention: true,
  };
  writeComponent(
    join(folder, 'vae'),
    {
      _class_name: 'AutoencoderKL',
      act_fn: 'silu',
      block_out_channels: vae.blockOutChannels,
      down_block_types: vae.blockOutChannels.map(() => 'DownEncoderBlock2D'),
      up_block_types: upBlockChannels(vae).map(() => 'UpDecoderBlock2D'),
      in_channels: 3,
      out_channels: 3,
      latent_channels: vae.latentChannels,
      layers_per_block: 1,
      norm_num_groups: vae.normGroups,
      sample_size: 64,
      scaling_factor: vae.scalingFactor,
      shift_factor: vae.shiftFactor,
      use_quant_conv: false,
      use_post_quant_conv: false,
      mid_block_add_attention: true,
      force_upcast: true,
    },
    'diffusion_pytorch_model.safetensors',
    [...vaeEncoderTensors(vae), ...allTensors(vaeManifest(vae))],
    seed + 13,
  );

  writeJson(join(folder, 'model_index.json'), {
    _class_name: 'FluxPipeline',
    scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'],
    text_encoder_2: ['transformers', 'T5EncoderModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    tokenizer_2: ['transformers', 'T5Tokenizer'],
    transformer: ['diffusers', 'FluxTransformer2DModel'],
    vae: ['diffusers', 'AutoencoderKL'],
  });
  return folder;
}
