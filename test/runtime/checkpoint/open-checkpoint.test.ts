import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointConfigError,
  CheckpointMismatchError,
  type OpenTensorSource,
  type TensorSource,
} from '../../../src/runtime/checkpoint/index.js';
import { openTransformer } from '../../../src/runtime/families/index.js';
import { checkpointDir, referenceManifest } from '../../support/reference-fixtures.js';
import { SafetensorsLite, writeSafetensors } from '../../support/safetensors-lite.js';

const liteOpen: OpenTensorSource = (path) => new SafetensorsLite(path);
const scratch = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let copies = 0;
/** A private copy of a fixture checkpoint to break. */
function copyOf(name: string): string {
  const dir = join(scratch, `${name}-${copies++}`);
  cpSync(checkpointDir(name), dir, { recursive: true });
  return dir;
}

function editJson(path: string, edit: (obj: Record<string, unknown>) => void): void {
  const obj = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(obj);
  writeFileSync(path, JSON.stringify(obj));
}
const editConfig = (dir: string, edit: (obj: Record<string, unknown>) => void) =>
  editJson(join(dir, 'transformer', 'config.json'), edit);

/** A source that lies about one tensor, as a corrupted file would. */
function tampered(override: (inner: TensorSource) => Partial<TensorSource>): OpenTensorSource {
  return (path) => {
    const inner = liteOpen(path);
    return {
      names: () => inner.names(),
      shape: (n) => inner.shape(n),
      dtype: (n) => inner.dtype(n),
      ...override(inner),
    };
  };
}

function mismatch(fn: () => unknown): CheckpointMismatchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CheckpointMismatchError) return err;
    throw err;
  }
  throw new Error('expected a CheckpointMismatchError');
}

describe('opening the reference checkpoints', () => {
  for (const ckpt of referenceManifest().checkpoints) {
    it(`${ckpt.name} loads and checks (${ckpt.sharded ? 'sharded' : 'single file'}, ${ckpt.weights_dtype})`, () => {
      const opened = openTransformer(checkpointDir(ckpt.name), liteOpen);
      expect(opened.weights.kind).toBe(ckpt.sharded ? 'sharded' : 'single');
      expect(opened.tensors.length).toBe(ckpt.tensor_count);
      expect(opened.config.className).toBe(
        ckpt.family === 'flux' ? 'FluxTransformer2DModel' : 'SD3Transformer2DModel',
      );
      expect(opened.index.components.transformer?.[1]).toBe(opened.config.className);
      const dtypes = new Set(opened.source.names().map((n) => opened.source.dtype(n)));
      expect([...dtypes]).toEqual([ckpt.weights_dtype === 'bfloat16' ? 'BF16' : 'F32']);
    });
  }

  it('opens only the shards a pipeline stage needs', () => {
    const opened: string[] = [];
    const counting: OpenTensorSource = (path) => {
      opened.push(path);
      return liteOpen(path);
    };
    const all = openTransformer(checkpointDir('flux-schnell'), liteOpen);
    expect(all.weights.files.length).toBeGreaterThanOrEqual(3);
    const stage = openTransformer(checkpointDir('flux-schnell'), counting, {
      stage: { fromBlock: 0, toBlock: 2 },
    });
    expect(opened.length).toBeLessThan(all.weights.files.length);
    expect(stage.tensors.some((t) => t.name.startsWith('single_transformer_blocks.'))).toBe(false);
    for (const t of stage.tensors) expect(opened).toContain(all.weights.fileOf(t.name));
  });
});

describe('a malformed or mismatched checkpoint fails at load, naming the tensor or field', () => {
  it('missing tensor (removed from the safetensors file)', () => {
    const dir = copyOf('flux-dev');
    const file = join(dir, 'transformer', 'diffusion_pytorch_model.safetensors');
    const st = new SafetensorsLite(file);
    const victim = 'transformer_blocks.1.attn.to_k.weight';
    writeSafetensors(
      file,
      st
        .names()
        .filter((n) => n !== victim)
        .map((n) => ({ name: n, dtype: st.dtype(n), shape: st.shape(n), bytes: st.bytesOf(n) })),
    );
    const err = mismatch(() => openTransformer(dir, liteOpen));
    expect(err.tensor).toBe(victim);
    expect(err.message).toMatch(
      /missing tensor "transformer_blocks\.1\.attn\.to_k\.weight" \(expected shape \[32, 32\]/,
    );
  });

  it('misshaped tensor', () => {
    const open = tampered((inner) => ({
      shape: (n) => (n === 'single_transformer_blocks.0.proj_mlp.weight' ? [64, 32] : inner.shape(n)),
    }));
    const err = mismatch(() => openTransformer(checkpointDir('flux-schnell'), open));
    expect(err.tensor).toBe('single_transformer_blocks.0.proj_mlp.weight');
    expect(err.message).toMatch(/has shape \[64, 32\] but the config implies \[128, 32\]/);
    expect(err.field).toBe('4 × num_attention_heads × attention_head_dim');
  });

  it('config field that does not match the weights: in_channels', () => {
    const dir = copyOf('flux-dev');
    editConfig(dir, (c) => {
      c.in_channels = 64;
    });
    const err = mismatch(() => openTransformer(dir, liteOpen));
    expect(err.tensor).toBe('x_embedder.weight');
    expect(err.field).toBe('in_channels');
    expect(err.message).toMatch(/dim 1 follows in_channels/);
  });

  it('config field that does not match the weights: num_layers', () => {
    const dir = copyOf('sd3-medium');
    editConfig(dir, (c) => {
      c.num_layers = 3;
    });
    const err = mismatch(() => openTransformer(dir, liteOpen));
    expect(err.field).toBe('num_layers');
    expect(err.message).toMatch(/says num_layers = 3, but .* has 4 transformer_blocks\.\* blocks/);
  });

  it('config field that does not match the weights: guidance_embeds both ways', () => {
    const dev = copyOf('flux-dev');
    editConfig(dev, (c) => {
      c.guidance_embeds = false;
    });
    const extra = mismatch(() => openTransformer(dev, liteOpen));
    expect(extra.field).toBe('guidance_embeds');
    expect(extra.tensor).toMatch(/^time_text_embed\.guidance_embedder\./);

    const schnell = copyOf('flux-schnell');
    editConfig(schnell, (c) => {
      c.guidance_embeds = true;
    });
    const missing = mismatch(() => openTransformer(schnell, liteOpen));
    expect(missing.tensor).toBe('time_text_embed.guidance_embedder.linear_1.weight');
  });

  it('config field that does not match the weights: SD3.5 qk_norm and dual_attention_layers', () => {
    const noNorm = copyOf('sd35-medium');
    editConfig(noNorm, (c) => {
      c.qk_norm = null;
    });
    const a = mismatch(() => openTransformer(noNorm, liteOpen));
    expect(a.field).toBe('qk_norm');

    const noDual = copyOf('sd35-medium');
    editConfig(noDual, (c) => {
      c.dual_attention_layers = [];
    });
    const b = mismatch(() => openTransformer(noDual, liteOpen));
    expect(b.tensor).toBe('transformer_blocks.0.norm1.linear.weight');
    expect(b.message).toMatch(/dual_attention_layers/);
  });

  it('unsupported weight dtype', () => {
    const open = tampered((inner) => ({ dtype: (n) => (n === 'proj_out.bias' ? 'I64' : inner.dtype(n)) }));
    const err = mismatch(() => openTransformer(checkpointDir('flux-dev'), open));
    expect(err.tensor).toBe('proj_out.bias');
    expect(err.message).toMatch(/is I64; supported weight dtypes are F32, BF16, F16/);
  });

  it('shard index naming a shard that is not there, or disagreeing with the shards', () => {
    const dir = copyOf('flux-schnell');
    const indexPath = join(dir, 'transformer', 'diffusion_pytorch_model.safetensors.index.json');
    editJson(indexPath, (idx) => {
      (idx.weight_map as Record<string, string>)['proj_out.weight'] =
        'diffusion_pytorch_model-00009-of-00009.safetensors';
    });
    expect(() => openTransformer(dir, liteOpen)).toThrow(
      /maps "proj_out\.weight" to .*00009.*, which does not exist/,
    );

    const moved = copyOf('flux-schnell');
    const movedIndex = join(moved, 'transformer', 'diffusion_pytorch_model.safetensors.index.json');
    let victim = '';
    editJson(movedIndex, (idx) => {
      const map = idx.weight_map as Record<string, string>;
      const shards = [...new Set(Object.values(map))];
      victim = Object.keys(map).find((k) => map[k] === shards[0]) ?? '';
      map[victim] = shards[1] ?? '';
    });
    expect(() => openTransformer(moved, liteOpen)).toThrow(new RegExp(`"${victim.replaceAll('.', '\\.')}"`));
  });

  it('weights layout: index escaping the folder, both layouts at once, or no weights', () => {
    const escaping = copyOf('flux-schnell');
    editJson(join(escaping, 'transformer', 'diffusion_pytorch_model.safetensors.index.json'), (idx) => {
      (idx.weight_map as Record<string, string>)['proj_out.bias'] = '../model_index.json';
    });
    expect(() => openTransformer(escaping, liteOpen)).toThrow(
      /weight_map\["proj_out\.bias"\] must be a shard file name in the same folder/,
    );

    const both = copyOf('flux-schnell');
    cpSync(
      join(checkpointDir('flux-dev'), 'transformer', 'diffusion_pytorch_model.safetensors'),
      join(both, 'transformer', 'diffusion_pytorch_model.safetensors'),
    );
    expect(() => openTransformer(both, liteOpen)).toThrow(
      /has both diffusion_pytorch_model\.safetensors and/,
    );

    const none = copyOf('flux-dev');
    rmSync(join(none, 'transformer', 'diffusion_pytorch_model.safetensors'));
    expect(() => openTransformer(none, liteOpen)).toThrow(/neither diffusion_pytorch_model\.safetensors nor/);
  });

  it('bad config values and missing files', () => {
    const rope = copyOf('flux-dev');
    editConfig(rope, (c) => {
      c.axes_dims_rope = [2, 2, 2];
    });
    expect(() => openTransformer(rope, liteOpen)).toThrow(CheckpointConfigError);
    expect(() => openTransformer(rope, liteOpen)).toThrow(
      /axes_dims_rope \[2,2,2\] sums to 6 but attention_head_dim is 8/,
    );

    const caption = copyOf('sd3-medium');
    editConfig(caption, (c) => {
      c.caption_projection_dim = 48;
    });
    expect(() => openTransformer(caption, liteOpen)).toThrow(/caption_projection_dim \(48\) must equal/);

    const typed = copyOf('sd3-medium');
    editConfig(typed, (c) => {
      c.num_attention_heads = '4';
    });
    expect(() => openTransformer(typed, liteOpen)).toThrow(
      /field "num_attention_heads" must be a positive integer/,
    );

    const wrongClass = copyOf('flux-dev');
    editJson(join(wrongClass, 'model_index.json'), (m) => {
      m.transformer = ['diffusers', 'SD3Transformer2DModel'];
    });
    expect(() => openTransformer(wrongClass, liteOpen)).toThrow(
      /lists transformer class SD3Transformer2DModel/,
    );

    const broken = copyOf('flux-dev');
    writeFileSync(join(broken, 'transformer', 'config.json'), '{"_class_name": ');
    expect(() => openTransformer(broken, liteOpen)).toThrow(/config\.json is not valid JSON/);

    expect(() => openTransformer(join(scratch, 'nowhere'), liteOpen)).toThrow(
      /cannot read .*model_index\.json/,
    );
  });
});

describe('bounds before work (config counts against the tensors present)', () => {
  for (const [field, value] of [
    ['num_layers', 2 ** 31],
    ['num_layers', 1e308],
    ['num_single_layers', 2 ** 31],
    ['num_layers', 10_000],
  ] as const) {
    it(`${field} = ${value} is refused naming the cap, before any per-layer work`, () => {
      const dir = copyOf('flux-dev');
      editConfig(dir, (c) => {
        c[field] = value;
      });
      const err = (() => {
        try {
          openTransformer(dir, liteOpen);
        } catch (e) {
          return e as Error;
        }
        throw new Error('expected the open to fail');
      })();
      expect(err).toBeInstanceOf(CheckpointConfigError);
      expect(err.message).toMatch(new RegExp(`field "${field}" .*above the cap of 1024`));
    });
  }

  it('a dimension above its cap is refused naming the cap', () => {
    const dir = copyOf('sd3-medium');
    editConfig(dir, (c) => {
      c.joint_attention_dim = 2 ** 40;
    });
    expect(() => openTransformer(dir, liteOpen)).toThrow(
      /field "joint_attention_dim" .*above the cap of 65536/,
    );
  });

  it('a pipeline stage checks the block counts too, from the names, before building its blocks', () => {
    // A stage used to check only its own tensors, so a config claiming more blocks than the weights hold
    // passed for every stage whose blocks happened to exist.
    for (const name of ['flux-dev', 'flux-schnell']) {
      const dir = copyOf(name);
      editConfig(dir, (c) => {
        c.num_single_layers = 900;
      });
      const err = mismatch(() => openTransformer(dir, liteOpen, { stage: { fromBlock: 0, toBlock: 1 } }));
      expect(err.field).toBe('num_single_layers');
      expect(err.message).toMatch(
        /says num_single_layers = 900, but .* has 2 single_transformer_blocks\.\* blocks/,
      );
    }
  });
});
