/**
 * Weights stored as f16 (the fixtures cover f32 and bf16) are converted to f32 once at load: the model
 * holds f32 tensors equal to the f16 values, and the forward stays close to the f32 golden.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runForward } from '../../../src/cli/commands/run-transformer.js';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
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
