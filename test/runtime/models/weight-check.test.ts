// The optional check of weights at load: with it, a NaN or ±Infinity in any weight (f32 or bf16 on disk)
// ends the load naming the tensor, the element and the file; without it, loading stays as fast as before.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadTransformer, ModelLoadError } from '../../../src/runtime/model-loader/index.js';
import { checkpointDir } from '../../support/reference-fixtures.js';
import { SafetensorsLite, writeSafetensors } from '../../support/safetensors-lite.js';

const scratch = mkdtempSync(join(tmpdir(), 'tessera-weight-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.TESSERA_CHECK_WEIGHTS;
});

/** A copy of a fixture checkpoint with one element of one tensor replaced by `bits` (its raw encoding). */
function poisoned(fixture: string, tensor: string, element: number, value: number): string {
  const dir = join(scratch, `${fixture}-${tensor}-${value}`);
  cpSync(checkpointDir(fixture), dir, { recursive: true });
  const file = join(dir, 'transformer', 'diffusion_pytorch_model.safetensors');
  const lite = new SafetensorsLite(file);
  const tensors = lite.names().map((name) => {
    const bytes = lite.bytesOf(name);
    if (name === tensor) {
      if (lite.dtype(name) === 'F32') bytes.writeFloatLE(value, element * 4);
      else bytes.writeUInt16LE(Number.isNaN(value) ? 0x7fc0 : value > 0 ? 0x7f80 : 0xff80, element * 2);
    }
    return { name, dtype: lite.dtype(name), shape: lite.shape(name), bytes };
  });
  writeSafetensors(file, tensors);
  return dir;
}

describe('checking weights for NaN and Infinity at load', () => {
  it('names the tensor, the element and the file of a NaN in an f32 checkpoint', () => {
    const dir = poisoned('flux-dev', 'transformer_blocks.1.attn.to_k.weight', 5, Number.NaN);
    expect(() => loadTransformer(dir, { checkFinite: true })).toThrow(ModelLoadError);
    expect(() => loadTransformer(dir, { checkFinite: true })).toThrow(
      /tensor "transformer_blocks\.1\.attn\.to_k\.weight" in .*diffusion_pytorch_model\.safetensors: element 5 is NaN/,
    );
  });

  it('finds an Infinity stored as bf16, when TESSERA_CHECK_WEIGHTS=finite asks for the check', () => {
    const dir = poisoned('flux-dev-bf16', 'proj_out.bias', 0, Number.NEGATIVE_INFINITY);
    process.env.TESSERA_CHECK_WEIGHTS = 'finite';
    expect(() => loadTransformer(dir)).toThrow(/tensor "proj_out\.bias" .*element 0 is -Infinity/);
  });

  it('finds a NaN in a bf16 matrix, which the loader keeps in bf16 (the CPU GEMMs read it as it is)', () => {
    const dir = poisoned('flux-dev-bf16', 'single_transformer_blocks.0.proj_mlp.weight', 7, Number.NaN);
    expect(() => loadTransformer(dir, { checkFinite: true })).toThrow(
      /tensor "single_transformer_blocks\.0\.proj_mlp\.weight" .*element 7 is NaN/,
    );
  });

  it('is off by default, and a clean checkpoint passes it', () => {
    const dir = poisoned('flux-dev', 'x_embedder.bias', 1, Number.POSITIVE_INFINITY);
    expect(() => loadTransformer(dir)).not.toThrow();
    expect(() => loadTransformer(checkpointDir('sd3-medium'), { checkFinite: true })).not.toThrow();
  });

  it('refuses an unknown TESSERA_CHECK_WEIGHTS value naming the variable', () => {
    process.env.TESSERA_CHECK_WEIGHTS = 'yes';
    expect(() => loadTransformer(checkpointDir('flux-dev'))).toThrow(
      /TESSERA_CHECK_WEIGHTS is "yes"; set it to "finite" to check every weight for NaN and Infinity, or leave it unset/,
    );
  });
});
