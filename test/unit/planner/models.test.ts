import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL_ARCHITECTURES } from '../../../src/shared/api/v1alpha1/model.js';
import { findGpu, GPU_TABLE, gpuSpec } from '../../../src/shared/hardware/index.js';
import {
  ModelConfigError,
  modelPreset,
  specFromDiffusersConfig,
  specFromDiffusersFolder,
  withFacts,
} from '../../../src/shared/models/index.js';

describe('model presets', () => {
  it('has a preset for every API architecture', () => {
    for (const name of MODEL_ARCHITECTURES) expect(modelPreset(name).name).toBe(name);
  });
  it('names the known presets when one is unknown', () => {
    expect(() => modelPreset('flux-pro')).toThrow(
      /unknown model preset 'flux-pro': known presets are flux-dev, /,
    );
  });
});

describe('Diffusers transformer/config.json', () => {
  it('counts Flux parameters from the shapes and takes Diffusers defaults for missing keys', () => {
    // Only the class and the guidance flag: every other key is the constructor default.
    const dev = specFromDiffusersConfig({ _class_name: 'FluxTransformer2DModel', guidance_embeds: true });
    expect(dev.facts).toMatchObject({ family: 'flux', layers: 57, heads: 24, headDim: 128, usesCfg: false });
    // Published counts (refs/runtime.md §1.1): dev 11,901,408,320; schnell 11,891,178,560.
    expect(dev.facts.parameters).toBe(11_901_408_320);
    expect(dev.facts.textTokens).toBe(512);
    const schnell = specFromDiffusersConfig({
      _class_name: 'FluxTransformer2DModel',
      guidance_embeds: false,
    });
    expect(schnell.facts.parameters).toBe(11_891_178_560);
    expect(schnell.facts.textTokens).toBe(256);
  });

  it('reads SD3.5-large and PixArt configs', () => {
    const large = specFromDiffusersConfig({
      _class_name: 'SD3Transformer2DModel',
      num_layers: 38,
      num_attention_heads: 38,
      attention_head_dim: 64,
      qk_norm: 'rms_norm',
    });
    expect(large.facts).toMatchObject({ family: 'sd3', layers: 38, heads: 38, usesCfg: true });
    // An estimate from the block shapes: within 5 % of the model card's 8.1 B.
    expect(Math.abs(large.facts.parameters - 8.1e9) / 8.1e9).toBeLessThan(0.05);
    const pixart = specFromDiffusersConfig({ _class_name: 'PixArtTransformer2DModel' });
    expect(pixart.facts).toMatchObject({
      family: 'pixart',
      layers: 28,
      heads: 16,
      headDim: 72,
      textTokens: 0,
    });
    expect(Math.abs(pixart.facts.parameters - 0.6e9) / 0.6e9).toBeLessThan(0.1);
  });

  it('names the bad field or class', () => {
    expect(() => specFromDiffusersConfig({ _class_name: 'FluxTransformer2DModel', num_layers: -1 })).toThrow(
      new ModelConfigError("transformer/config.json: field 'num_layers' must be a positive integer, got -1"),
    );
    expect(() => specFromDiffusersConfig({ _class_name: 'UNet2DConditionModel' })).toThrow(
      /unsupported _class_name/,
    );
  });

  const dir = mkdtempSync(join(tmpdir(), 'tessera-model-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a model folder and says when it is not one', () => {
    mkdirSync(join(dir, 'transformer'));
    writeFileSync(
      join(dir, 'transformer', 'config.json'),
      JSON.stringify({ _class_name: 'SD3Transformer2DModel', num_layers: 24, num_attention_heads: 24 }),
    );
    expect(specFromDiffusersFolder(dir).facts).toMatchObject({ layers: 24, heads: 24, headDim: 64 });
    expect(() => specFromDiffusersFolder(join(dir, 'missing'))).toThrow(
      /is '.*missing' a Diffusers model folder\?/,
    );
  });

  it('re-estimates parameters when explicit facts change the shape', () => {
    const base = modelPreset('sd3-medium');
    const bigger = withFacts(base, { layers: 48 });
    expect(bigger.facts.parameters).toBeGreaterThan(base.facts.parameters * 1.8);
    expect(withFacts(base, { layers: 48, parameters: 5e9 }).facts.parameters).toBe(5e9);
    expect(withFacts(base, { usesCfg: false }).facts.parameters).toBe(base.facts.parameters);
  });
});

describe('GPU table', () => {
  it('finds GPUs by GFD label, NVML name or alias', () => {
    expect(findGpu('NVIDIA-H100-80GB-HBM3')?.denseBf16Flops).toBe(989e12);
    expect(findGpu('NVIDIA H100 80GB HBM3')?.product).toBe('NVIDIA-H100-80GB-HBM3');
    expect(findGpu('a100-40gb')?.memoryBytes).toBe(40e9);
    expect(findGpu('NVIDIA-GeForce-RTX-4090')?.nvlinkBytesPerSecond).toBe(0);
    expect(findGpu('tesla-k80')).toBeUndefined();
    expect(() => gpuSpec('tesla-k80')).toThrow(
      /unknown GPU product 'tesla-k80': known products are NVIDIA-H100/,
    );
  });
  it('has unique products and aliases', () => {
    const names = GPU_TABLE.flatMap((g) => [g.product.toLowerCase(), ...g.aliases]);
    expect(new Set(names).size).toBe(names.length);
  });
});
