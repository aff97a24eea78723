/**
 * Weights in the checkpoint's dtype. f16 weights (the fixtures cover f32 and bf16) are converted to f32
 * once at load by default: the model holds f32 tensors equal to the f16 values, and the forward stays
 * close to the f32 golden. A bf16 checkpoint loaded with weightDtype bf16 keeps bf16 tensors and gives
 * the forward of its f32 conversion exactly. Which dtype a rank asks for follows TESSERA_MODEL_DTYPE, the
 * checkpoint and the backend.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runForward } from '../../../src/cli/commands/run-transformer.js';
import {
  chooseWeightDtype,
  loadTransformer,
  NamedTensors,
  requestedModelDtype,
  WeightDtypeError,
} from '../../../src/runtime/model-loader/index.js';
import { SafetensorsFile } from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { maxRelativeError, REFERENCE_DIR } from './fixtures.js';

const folder = mkdtempSync(join(tmpdir(), 'tessera-f16-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('f16 checkpoint', () => {
  it('loads as f32 copies of the f16 values and runs the forward', async () => {
    cpSync(join(REFERENCE_DIR, 'flux-dev', 'checkpoint'), folder, { recursive: true });
    const path = join(folder, 'transformer', 'diffusion_pytorch_model.safetensors');
    const source = SafetensorsFile.open(path);
    const f16 = new Map(source.names().map((n) => [n, source.read(n).to('f16')]));
    source.close();
    writeSafetensors(path, f16);

    const loaded = loadTransformer(folder);
    const name = 'transformer_blocks.0.attn.to_q.weight';
    const held = loaded.weights.get(name);
    expect(held.dtype).toBe('f32');
    expect(Array.from(held.toFloat32Array())).toEqual(Array.from(f16.get(name)?.toFloat32Array() ?? []));

    const file = NamedTensors.read(join(REFERENCE_DIR, 'flux-dev', 'forward-square-txt8.safetensors'));
    const sample = await runForward(loaded, file.without(['sample']));
    const error = maxRelativeError(sample, file.required('sample', ''));
    process.stdout.write(
      `forward flux-dev with f16-rounded weights vs the f32 golden: max relative error ${error.toExponential(2)}\n`,
    );
    // f16 keeps 11 significant bits (relative rounding ≤ 4.9e-4 per weight); the output may not drift further
    // than a few times that, nor be identical (which would mean the weights were not converted from f16).
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThan(1e-2);
  });
});

describe('bf16 checkpoint', () => {
  it('keeps bf16 storage when asked, and computes the forward of its f32 conversion exactly', async () => {
    const folder = join(REFERENCE_DIR, 'flux-dev-bf16', 'checkpoint');
    const kept = loadTransformer(folder, { weightDtype: 'bf16' });
    const converted = loadTransformer(folder);
    const name = 'single_transformer_blocks.0.proj_out.weight';
    expect(kept.weights.get(name).dtype).toBe('bf16');
    expect(converted.weights.get(name).dtype).toBe('f32');
    const file = NamedTensors.read(join(REFERENCE_DIR, 'flux-dev-bf16', 'forward-square-txt8.safetensors'));
    const inputs = file.without(['sample']);
    const a = await runForward(kept, inputs);
    const b = await runForward(converted, inputs);
    expect(maxRelativeError(a, b)).toBe(0);
    process.stdout.write(
      `forward flux-dev-bf16, bf16 weights vs the golden: max relative error ${maxRelativeError(a, file.required('sample', '')).toExponential(2)}\n`,
    );
  });
});

describe('which dtype a rank holds its weights in', () => {
  const cpu = { weightDtypes: ['f32'] as const };
  const gpu = { weightDtypes: ['f32', 'bf16'] as const };
  it('follows TESSERA_MODEL_DTYPE, else the checkpoint, where the backend computes with it', () => {
    expect(chooseWeightDtype(undefined, 'BF16', gpu).dtype).toBe('bf16');
    expect(chooseWeightDtype(undefined, 'F16', gpu).dtype).toBe('bf16');
    expect(chooseWeightDtype(undefined, 'F32', gpu).dtype).toBe('f32');
    expect(chooseWeightDtype('bf16', 'F32', gpu).dtype).toBe('bf16');
    expect(chooseWeightDtype('fp16', 'F16', gpu).dtype).toBe('bf16');
    // f32 stays available for parity runs.
    expect(chooseWeightDtype('fp32', 'BF16', gpu)).toEqual({
      dtype: 'f32',
      reason: 'TESSERA_MODEL_DTYPE=fp32',
    });
  });
  it('converts to f32 once at load where the backend computes with f32 weights (the CPU today)', () => {
    const choice = chooseWeightDtype('bf16', 'BF16', cpu);
    expect(choice.dtype).toBe('f32');
    expect(choice.reason).toMatch(/TESSERA_MODEL_DTYPE=bf16, but this backend computes with f32 weights/);
  });
  it('names TESSERA_MODEL_DTYPE when its value is not one the API allows', () => {
    expect(requestedModelDtype(undefined)).toBeUndefined();
    expect(requestedModelDtype(' fp16 ')).toBe('fp16');
    expect(() => requestedModelDtype('float16')).toThrow(WeightDtypeError);
    expect(() => requestedModelDtype('float16')).toThrow(
      "TESSERA_MODEL_DTYPE must be one of bf16, fp16, fp32, got 'float16'",
    );
  });
});
