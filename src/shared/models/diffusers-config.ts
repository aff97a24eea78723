import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelFacts } from '../plan/index.js';
import type { ModelSpec } from './model-spec.js';
import { modelPreset } from './presets.js';

/** A Diffusers `transformer/config.json` failed to give usable facts. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

type Json = Record<string, unknown>;

function numberField(cfg: Json, key: string, fallback: number, source: string): number {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelConfigError(
      `${source}: field '${key}' must be a positive integer, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

// Constructor defaults of the Diffusers classes (refs/runtime.md §1.1, §2, §3): a key missing from
// config.json means the default, as `register_to_config` does.
function fluxFacts(cfg: Json, source: string): { facts: ModelFacts; base: ModelSpec } {
  const double = numberField(cfg, 'num_layers', 19, source);
  const single = numberField(cfg, 'num_single_layers', 38, source);
  const heads = numberField(cfg, 'num_attention_heads', 24, source);
  const headDim = numberField(cfg, 'attention_head_dim', 128, source);
  const inChannels = numberField(cfg, 'in_channels', 64, source);
  const jointDim = numberField(cfg, 'joint_attention_dim', 4096, source);
  const pooledDim = numberField(cfg, 'pooled_projection_dim', 768, source);
  const guidance = cfg.guidance_embeds === true;
  const d = heads * headDim;
  const hd = headDim;
  // Shapes from refs/runtime.md §1.2: a double block is 36·D² + 30·D + 4·head_dim, a single block
  // 15·D² + 11·D + 2·head_dim; the rest are the embedders and the output head.
  const perDouble = 36 * d * d + 30 * d + 4 * hd;
  const perSingle = 15 * d * d + 11 * d + 2 * hd;
  const timeEmbedder = 256 * d + d + d * d + d;
  const nonBlock =
    inChannels * d +
    d +
    jointDim * d +
    d +
    timeEmbedder * (guidance ? 2 : 1) +
    pooledDim * d +
    d +
    d * d +
    d +
    2 * d * d +
    2 * d +
    d * inChannels +
    inChannels;
  // Guidance-embedded Flux is dev-like (512 text tokens); without guidance it is schnell-like (256).
  const base = modelPreset(guidance ? 'flux-dev' : 'flux-schnell');
  return {
    base,
    facts: {
      ...base.facts,
      layers: double + single,
      heads,
      headDim,
      parameters: double * perDouble + single * perSingle + nonBlock,
    },
  };
}

function sd3Facts(cfg: Json, source: string): { facts: ModelFacts; base: ModelSpec } {
  const layers = numberField(cfg, 'num_layers', 18, source);
  const heads = numberField(cfg, 'num_attention_heads', 18, source);
  const headDim = numberField(cfg, 'attention_head_dim', 64, source);
  const patchSize = numberField(cfg, 'patch_size', 2, source);
  const jointDim = numberField(cfg, 'joint_attention_dim', 4096, source);
  const dual = Array.isArray(cfg.dual_attention_layers) ? cfg.dual_attention_layers.length : 0;
  const d = heads * headDim;
  // Estimate: a joint block is ≈ 36·D² (modulation 12·D², attention 8·D², two feed-forwards 16·D²);
  // a dual-attention block adds a second attention (4·D²) and three modulation chunks (3·D²).
  const parameters = layers * 36 * d * d + dual * 7 * d * d + jointDim * d + 4 * d * d;
  const base = modelPreset(layers >= 38 ? 'sd3.5-large' : dual > 0 ? 'sd3.5-medium' : 'sd3-medium');
  return { base, facts: { ...base.facts, layers, heads, headDim, patchSize, parameters } };
}

function pixartFacts(cfg: Json, source: string): { facts: ModelFacts; base: ModelSpec } {
  const layers = numberField(cfg, 'num_layers', 28, source);
  const heads = numberField(cfg, 'num_attention_heads', 16, source);
  const headDim = numberField(cfg, 'attention_head_dim', 72, source);
  const patchSize = numberField(cfg, 'patch_size', 2, source);
  const crossDim = numberField(cfg, 'cross_attention_dim', 1152, source);
  const captionChannels = numberField(cfg, 'caption_channels', 4096, source);
  const d = heads * headDim;
  // Estimate: self-attention 4·D², cross-attention 2·D² + 2·D·cross_dim, feed-forward 8·D², plus the
  // caption projection and the shared adaLN-single linear.
  const perBlock = 14 * d * d + 2 * d * crossDim;
  const parameters = layers * perBlock + captionChannels * d + d * d + 6 * d * d;
  const base = modelPreset('pixart-sigma');
  return { base, facts: { ...base.facts, layers, heads, headDim, patchSize, parameters } };
}

/**
 * Reads the parsed `transformer/config.json` of a Diffusers model into a ModelSpec. The family comes
 * from `_class_name`; missing keys take the Diffusers constructor defaults; the parts the config does
 * not describe (text encoders, VAE, text length) come from the closest preset.
 */
export function specFromDiffusersConfig(config: unknown, source = 'transformer/config.json'): ModelSpec {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ModelConfigError(`${source}: expected a JSON object`);
  }
  const cfg = config as Json;
  const cls = cfg._class_name;
  let parsed: { facts: ModelFacts; base: ModelSpec };
  if (cls === 'FluxTransformer2DModel') parsed = fluxFacts(cfg, source);
  else if (cls === 'SD3Transformer2DModel') parsed = sd3Facts(cfg, source);
  else if (
    cls === 'PixArtTransformer2DModel' ||
    (cls === 'Transformer2DModel' && cfg.norm_type === 'ada_norm_single')
  ) {
    parsed = pixartFacts(cfg, source);
  } else {
    throw new ModelConfigError(
      `${source}: unsupported _class_name ${JSON.stringify(cls)}; expected FluxTransformer2DModel, ` +
        'SD3Transformer2DModel or PixArtTransformer2DModel',
    );
  }
  return { ...parsed.base, facts: parsed.facts };
}

/** Reads `<folder>/transformer/config.json` of a Diffusers model folder. */
export function specFromDiffusersFolder(folder: string): ModelSpec {
  const path = join(folder, 'transformer', 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelConfigError(`cannot read ${path}: is '${folder}' a Diffusers model folder?`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${path} is not valid JSON`, { cause: err });
  }
  const spec = specFromDiffusersConfig(json, path);
  return { ...spec, name: folder };
}
