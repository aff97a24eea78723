// Inputs files (`tessera denoise --inputs`, the parallel ranks' request files): a handful of named tensors.
// A file with far more is refused before any tensor is read or any name is logged.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { f32Bytes, safetensorsBytes } from '../../native/safetensors-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inputsFile(name: string, extra: number): string {
  const tensors = [
    { name: 'latents', dtype: 'F32', shape: [1, 2], bytes: f32Bytes([1, 2]) },
    ...Array.from({ length: extra }, (_, i) => ({
      name: `extra_${i}`,
      dtype: 'F32',
      shape: [0],
      bytes: new Uint8Array(),
    })),
  ];
  const path = join(dir, name);
  writeFileSync(path, safetensorsBytes(tensors));
  return path;
}

describe('inputs files', () => {
  it('a file of a few tensors reads as before', () => {
    const named = NamedTensors.read(inputsFile('small.safetensors', 3));
    expect(named.names()).toHaveLength(4);
    expect(Array.from(named.required('latents', 'test').toFloat32Array())).toEqual([1, 2]);
  });

  it('a file with more tensors than the cap is refused naming the cap, before reading them', () => {
    const path = inputsFile('many.safetensors', 5_000);
    expect(() => NamedTensors.read(path)).toThrow(
      /many\.safetensors holds 5001 tensors, more than the 256 an inputs file may hold/,
    );
  });
});
