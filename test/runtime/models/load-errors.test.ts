/**
 * A malformed or mismatched checkpoint fails at load — before any forward — with a message that names
 * the tensor or config field and says what to fix. Each case copies a committed fixture checkpoint to a
 * temporary folder and breaks one thing.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTransformer } from '../../../src/runtime/model-loader/index.js';
import { SafetensorsFile, Tensor } from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { REFERENCE_DIR } from './fixtures.js';

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

function copyOf(name: string): string {
  const folder = mkdtempSync(join(tmpdir(), `tessera-${name}-`));
  folders.push(folder);
  cpSync(join(REFERENCE_DIR, name, 'checkpoint'), folder, { recursive: true });
  return folder;
}

/** Rewrites the single weights file through `change` (name → tensor map, in file order). */
function rewriteWeights(folder: string, change: (tensors: Map<string, Tensor>) => void): void {
  const path = join(folder, 'transformer', 'diffusion_pytorch_model.safetensors');
  const file = SafetensorsFile.open(path);
  const tensors = new Map(file.names().map((n) => [n, file.read(n)]));
  file.close();
  change(tensors);
  writeSafetensors(path, tensors);
}

function editConfig(folder: string, change: (config: Record<string, unknown>) => void): void {
  const path = join(folder, 'transformer', 'config.json');
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(config);
  writeFileSync(path, JSON.stringify(config));
}

describe('checkpoint problems fail at load, naming the tensor or field', () => {
  it('loads the untouched copy (the cases below fail for their one change only)', () => {
    const loaded = loadTransformer(copyOf('flux-dev'));
    expect(loaded.family).toBe('flux');
    expect(loaded.model.blockCount).toBe(4);
  });

  it('missing tensor', () => {
    const folder = copyOf('flux-dev');
    rewriteWeights(folder, (t) => t.delete('transformer_blocks.1.attn.to_k.weight'));
    expect(() => loadTransformer(folder)).toThrow(
      /missing tensor "transformer_blocks\.1\.attn\.to_k\.weight"/,
    );
  });

  it('misshaped tensor names the tensor and the config field its size follows', () => {
    const folder = copyOf('flux-dev');
    rewriteWeights(folder, (t) => t.set('x_embedder.weight', Tensor.zeros([32, 12])));
    expect(() => loadTransformer(folder)).toThrow(
      /"x_embedder\.weight".*\[32, 12\].*\[32, 16\].*in_channels/,
    );
  });

  it('config with more blocks than the weights names num_layers', () => {
    const folder = copyOf('sd3-medium');
    editConfig(folder, (c) => {
      c.num_layers = 5;
    });
    expect(() => loadTransformer(folder)).toThrow(/num_layers/);
  });

  it('config without guidance_embeds for FLUX.1-dev weights names guidance_embeds', () => {
    const folder = copyOf('flux-dev');
    editConfig(folder, (c) => {
      c.guidance_embeds = false;
    });
    expect(() => loadTransformer(folder)).toThrow(/guidance_embeds/);
  });

  it('config with a different head size names the tensor and attention_head_dim', () => {
    const folder = copyOf('sd35-medium');
    editConfig(folder, (c) => {
      c.attention_head_dim = 16;
      c.caption_projection_dim = 64;
    });
    expect(() => loadTransformer(folder)).toThrow(/tensor ".*".*attention_head_dim/);
  });

  it('a shard the index names but the folder lacks', () => {
    const folder = copyOf('flux-schnell');
    rmSync(join(folder, 'transformer', 'diffusion_pytorch_model-00003-of-00004.safetensors'));
    expect(() => loadTransformer(folder)).toThrow(/diffusion_pytorch_model-00003-of-00004\.safetensors/);
  });

  it('unsupported transformer class names _class_name and the supported ones', () => {
    const folder = copyOf('flux-dev');
    editConfig(folder, (c) => {
      c._class_name = 'HunyuanDiT2DModel';
    });
    expect(() => loadTransformer(folder)).toThrow(
      /"_class_name" is "HunyuanDiT2DModel"; supported: .*PixArtTransformer2DModel/,
    );
  });

  it('a transformer class other than model_index.json lists names both files', () => {
    const folder = copyOf('flux-dev');
    editConfig(folder, (c) => {
      c._class_name = 'PixArtTransformer2DModel';
    });
    expect(() => loadTransformer(folder)).toThrow(
      /model_index\.json lists transformer class FluxTransformer2DModel but .*transformer\/config\.json's "_class_name" is PixArtTransformer2DModel/,
    );
  });
});
