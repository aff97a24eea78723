/**
 * A tiny Flux checkpoint in the Diffusers layout (model_index.json, transformer/config.json + safetensors,
 * scheduler/scheduler_config.json) with seeded random weights: every tensor the config implies (the
 * checkpoint module's manifest), so the whole loading path runs as on a real checkpoint. For the demo and
 * the benchmark, which must run on a fresh machine without downloads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTensors } from '../../checkpoint/index.js';
import { manifestFor, readTransformerConfig } from '../../families/index.js';
import { Tensor } from '../../native/index.js';
import { writeSafetensors } from '../../native/safetensors-writer.js';

export interface TinyFluxShape {
  heads: number;
  headDim: number;
  doubleBlocks: number;
  singleBlocks: number;
  /** Latent channels × 4 (2×2 packing), as FLUX.1 (16 latent channels → 64). */
  inChannels: number;
  jointAttentionDim: number;
  pooledProjectionDim: number;
  /** Sums to headDim. */
  axesDimsRope: [number, number, number];
}

export const DEMO_FLUX: TinyFluxShape = {
  heads: 4,
  headDim: 16,
  doubleBlocks: 2,
  singleBlocks: 4,
  inChannels: 16,
  jointAttentionDim: 32,
  pooledProjectionDim: 32,
  axesDimsRope: [4, 6, 6],
};

/** Deterministic values, normal-ish (sum of uniforms), scaled. */
function seeded(seed: number, count: number, scale: number): Float32Array {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() + next() + next() - 1.5) * 2 * scale;
  return out;
}

export function writeTinyFlux(folder: string, shape: TinyFluxShape = DEMO_FLUX, seed = 1): string {
  writeTinyFluxFolder(folder, shape);
  const tensors = new Map<string, Tensor>();
  tinyFluxTensorShapes(folder).forEach((t, i) => {
    tensors.set(t.name, Tensor.fromArray(tinyFluxValues(t, i, seed), t.shape));
  });
  writeSafetensors(join(folder, 'transformer', 'diffusion_pytorch_model.safetensors'), tensors);
  return folder;
}

/** The folder's JSON files (model index, transformer and scheduler configs), without the weights. */
export function writeTinyFluxFolder(folder: string, shape: TinyFluxShape): void {
  mkdirSync(join(folder, 'transformer'), { recursive: true });
  mkdirSync(join(folder, 'scheduler'), { recursive: true });
  writeFileSync(
    join(folder, 'model_index.json'),
    JSON.stringify({
      _class_name: 'FluxPipeline',
      scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
      transformer: ['diffusers', 'FluxTransformer2DModel'],
    }),
  );
  writeFileSync(
    join(folder, 'transformer', 'config.json'),
    JSON.stringify({
      _class_name: 'FluxTransformer2DModel',
      attention_head_dim: shape.headDim,
      axes_dims_rope: shape.axesDimsRope,
      guidance_embeds: true,
      in_channels: shape.inChannels,
      joint_attention_dim: shape.jointAttentionDim,
      num_attention_heads: shape.heads,
      num_layers: shape.doubleBlocks,
      num_single_layers: shape.singleBlocks,
      patch_size: 1,
      pooled_projection_dim: shape.pooledProjectionDim,
    }),
  );
  writeFileSync(
    join(folder, 'scheduler', 'scheduler_config.json'),
    JSON.stringify({
      _class_name: 'FlowMatchEulerDiscreteScheduler',
      base_image_seq_len: 256,
      base_shift: 0.5,
      max_image_seq_len: 4096,
      max_shift: 1.15,
      num_train_timesteps: 1000,
      shift: 3.0,
      use_dynamic_shifting: true,
    }),
  );
}

/** The name and shape of every tensor the folder's config implies, in the order they are written. */
export function tinyFluxTensorShapes(folder: string): { name: string; shape: number[] }[] {
  return allTensors(manifestFor(readTransformerConfig(folder))).map((t) => ({
    name: t.name,
    shape: [...t.shape],
  }));
}

/**
 * The seeded values of tensor `index` of `tinyFluxTensorShapes` (one at a time, so that a caller writing a
 * large checkpoint never holds all of them).
 */
export function tinyFluxValues(
  tensor: { name: string; shape: readonly number[] },
  index: number,
  seed = 1,
): Float32Array {
  const count = tensor.shape.reduce((a, b) => a * b, 1);
  // Norm weights near 1, everything else small, so activations stay in range through the blocks.
  const isNormWeight = /norm.*\.weight$/.test(tensor.name) && tensor.shape.length === 1;
  const values = seeded(seed * 7919 + index, count, isNormWeight ? 0.05 : 0.08);
  if (isNormWeight) for (let j = 0; j < count; j++) values[j] = (values[j] as number) + 1;
  return values;
}

/** Denoise inputs for the tiny model: unpacked latents [B, C, h, w] and prompt embeddings. */
export function writeTinyFluxInputs(
  path: string,
  shape: TinyFluxShape,
  size: { height: number; width: number; textTokens: number },
  seed = 2,
): void {
  const channels = shape.inChannels / 4;
  const latents = seeded(seed, channels * size.height * size.width, 1);
  const prompt = seeded(seed + 1, size.textTokens * shape.jointAttentionDim, 1);
  const pooled = seeded(seed + 2, shape.pooledProjectionDim, 1);
  writeSafetensors(
    path,
    new Map([
      ['latents', Tensor.fromArray(latents, [1, channels, size.height, size.width])],
      ['prompt_embeds', Tensor.fromArray(prompt, [1, size.textTokens, shape.jointAttentionDim])],
      ['pooled_prompt_embeds', Tensor.fromArray(pooled, [1, shape.pooledProjectionDim])],
    ]),
  );
}
