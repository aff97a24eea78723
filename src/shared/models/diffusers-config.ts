import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelFacts } from '../plan/index.js';
import type { ModelSpec } from './model-spec.js';
import { modelPreset } from './presets.js';
import { fluxWeights, sd3Weights, type TransformerWeights, totalParameters } from './weights.js';

/** A Diffusers `transformer/config.json` failed to give usable facts. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

type Json = Record<string, unknown>;

/** A config's facts, the preset it borrows the rest from, and its exact weight layout when known. */
interface Parsed {
  facts: ModelFacts;
  base: ModelSpec;
  weights?: TransformerWeights;
}

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
function fluxFacts(cfg: Json, source: string): Parsed {
  const weights = fluxWeights({
    doubleBlocks: numberField(cfg, 'num_layers', 19, source),
    singleBlocks: numberField(cfg, 'num_single_layers', 38, source),
    heads: numberField(cfg, 'num_attention_heads', 24, source),
    headDim: numberField(cfg, 'attention_head_dim', 128, source),
    inChannels: numberField(cfg, 'in_channels', 64, source),
    jointAttentionDim: numberField(cfg, 'joint_attention_dim', 4096, source),
    pooledProjectionDim: numberField(cfg, 'pooled_projection_dim', 768, source),
    guidanceEmbeds: cfg.guidance_embeds === true,
    ...(cfg.out_channels != null ? { outChannels: numberField(cfg, 'out_channels', 64, source) } : {}),
  });
  // Guidance-embedded Flux is dev-like (512 text tokens); without guidance it is schnell-like (256).
  const base = modelPreset(cfg.guidance_embeds === true ? 'flux-dev' : 'flux-schnell');
  return {
    base,
    weights,
    facts: {
      ...base.facts,
      layers: weights.blocks.length,
      heads: numberField(cfg, 'num_attention_heads', 24, source),
      headDim: numberField(cfg, 'attention_head_dim', 128, source),
      parameters: totalParameters(weights),
    },
  };
}

function sd3Facts(cfg: Json, source: string): Parsed {
  const heads = numberField(cfg, 'num_attention_heads', 18, source);
  const headDim = numberField(cfg, 'attention_head_dim', 64, source);
  const layers = numberField(cfg, 'num_layers', 18, source);
  const patchSize = numberField(cfg, 'patch_size', 2, source);
  const inChannels = numberField(cfg, 'in_channels', 16, source);
  const dual = Array.isArray(cfg.dual_attention_layers)
    ? cfg.dual_attention_layers.filter((i): i is number => Number.isInteger(i))
    : [];
  const maxSize = cfg.pos_embed_max_size === null ? null : numberField(cfg, 'pos_embed_max_size', 96, source);
  const weights = sd3Weights({
    layers,
    heads,
    headDim,
    patchSize,
    inChannels,
    outChannels: cfg.out_channels == null ? inChannels : numberField(cfg, 'out_channels', 16, source),
    jointAttentionDim: numberField(cfg, 'joint_attention_dim', 4096, source),
    captionProjectionDim: numberField(cfg, 'caption_projection_dim', 1152, source),
    pooledProjectionDim: numberField(cfg, 'pooled_projection_dim', 2048, source),
    posEmbedMaxSize: maxSize,
    dualAttentionLayers: dual,
    qkNorm: cfg.qk_norm === 'rms_norm',
  });
  const base = modelPreset(layers >= 38 ? 'sd3.5-large' : dual.length > 0 ? 'sd3.5-medium' : 'sd3-medium');
  return {
    base,
    weights,
    facts: { ...base.facts, layers, heads, headDim, patchSize, parameters: totalParameters(weights) },
  };
}

function pixartFacts(cfg: Json, source: string): Parsed {
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
  let parsed: Parsed;
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
  const { weights: _presetWeights, ...base } = parsed.base;
  return { ...base, facts: parsed.facts, ...(parsed.weights ? { weights: parsed.weights } : {}) };
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
