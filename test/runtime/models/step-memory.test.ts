/**
 * A denoising step with bf16 weights holds no f32 copy of them, and steps do not pile up memory: in a fresh
 * process, each of three steps of a bf16 Flux checkpoint (~140 M parameters, width 1024, 256 image + 16
 * text tokens) raises the resident set above its size after the load by a small fraction of what an f32
 * copy of the weights would take. The weight panels are widened to f32 while the GEMM packs them, a few
 * MiB at a time; a released tensor's memory goes back to the OS (native/src/tensor/storage.cc), where
 * through malloc every step left more of the heap resident.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TinyFluxShape,
  tinyFluxTensorShapes,
  writeTinyFluxFolder,
} from '../../../src/runtime/launcher/demo/tiny-checkpoint.js';
import { writeSafetensorsStreamed } from '../../../src/runtime/native/safetensors-writer.js';
import { resultOfChild } from '../../support/memory-child.js';

const CHILD = resolve(import.meta.dirname, 'step-memory-child.ts');
const MB = 1024 * 1024;
const shape: TinyFluxShape = {
  heads: 16,
  headDim: 64,
  doubleBlocks: 2,
  singleBlocks: 4,
  inChannels: 64,
  jointAttentionDim: 1024,
  pooledProjectionDim: 768,
  axesDimsRope: [8, 28, 28],
};
let folder = '';

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'tessera-step-memory-'));
  writeTinyFluxFolder(folder, shape);
  const entries = tinyFluxTensorShapes(folder).map((t) => ({ ...t, dtype: 'bf16' as const }));
  // Small finite bf16 values around 0.01 (0x3c23), varied so that no page is a zero page.
  const pattern = Buffer.alloc(8 * MB);
  for (let i = 0; i < pattern.length; i += 2) pattern.writeUInt16LE(0x3c23 + ((i >> 1) & 0xff), i);
  writeSafetensorsStreamed(
    join(folder, 'transformer', 'diffusion_pytorch_model.safetensors'),
    entries,
    (e) => {
      const bytes = e.shape.reduce((a, b) => a * b, 1) * 2;
      return bytes <= pattern.length
        ? pattern.subarray(0, bytes)
        : Buffer.alloc(bytes, pattern.subarray(0, 512));
    },
  );
}, 120_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

interface Measured {
  weightBytes: number;
  f32Bytes: number;
  stepGrowthKb: number[];
}

const stepsInChild = (steps: number) => resultOfChild<Measured>(CHILD, [folder, String(steps)]);

describe('a denoising step with bf16 weights', () => {
  it('holds no f32 copy of them, and three steps hold no more than one', async () => {
    const m = await stepsInChild(3);
    const growthMb = m.stepGrowthKb.map((kb) => kb / 1024);
    process.stdout.write(
      `bf16 Flux, ${(m.weightBytes / MB).toFixed(1)} MB held (an f32 copy: ${(m.f32Bytes / MB).toFixed(1)} MB); ` +
        `peak resident growth of steps 1-3 above the loaded process: ${growthMb.map((g) => g.toFixed(1)).join(', ')} MB\n`,
    );
    expect(m.weightBytes).toBeGreaterThan(250 * MB);
    expect(m.f32Bytes).toBeGreaterThan(1.9 * m.weightBytes);
    // An f32 copy of even a tenth of the weights would not fit (the step's activations are ~15 MB).
    for (const g of growthMb) expect(g).toBeLessThan((0.1 * m.f32Bytes) / MB);
    // Later steps reuse what the first one needed: nothing stays behind.
    const [first = 0, ...later] = growthMb;
    for (const g of later) expect(g).toBeLessThan(first + 8);
  }, 300_000);
});
