/**
 * Narrow weights on the CPU: a bf16 (or f16) checkpoint's matrices stay bf16 in memory where the CPU's
 * GEMMs read them directly (widened to f32 while packing), everything else is converted to f32 once.
 *
 * For every Diffusers checkpoint with forward goldens (f32), the test writes a bf16 copy and runs each
 * forward case twice: matrices held in bf16 (the default) and everything converted to f32 at load
 * (weightDtype 'f32'). Stated tolerances, max relative error as forward-parity.test.ts measures it:
 * - held bf16 vs converted f32: ≤ 1e-5 (the same values; only the order of the sums may differ);
 * - held bf16 vs the f32 golden: < 1e-2 (bf16 keeps 8 significant bits: each weight moves by up to
 *   2⁻⁹ ≈ 2e-3 of itself, and a few blocks compound it), and > 0 (the weights really are bf16).
 * Then the committed bf16 golden checkpoint, and which dtype a rank asks for (TESSERA_MODEL_DTYPE, the
 * checkpoint, the backend) and holds each tensor in.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runForward } from '../../../src/cli/commands/run-transformer.js';
import {
  chooseWeightDtype,
  heldDtype,
  type LoadedTransformer,
  loadTransformer,
  NamedTensors,
  requestedModelDtype,
  WeightDtypeError,
} from '../../../src/runtime/model-loader/index.js';
import {
  type BackendCapabilities,
  type DType,
  ops,
  SafetensorsFile,
} from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { checkpointDir, maxRelativeError, REFERENCE_DIR, referenceCheckpoints } from './fixtures.js';

const HELD_VS_CONVERTED = 1e-5;
const BF16_VS_F32_GOLDEN = 1e-2;

const scratch = mkdtempSync(join(tmpdir(), 'tessera-narrow-weights-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of a fixture checkpoint with every tensor of every shard rounded to `dtype`. */
function narrowCopy(name: string, source: string, dtype: DType): string {
  const folder = join(scratch, `${name}-${dtype}`);
  cpSync(source, folder, { recursive: true });
  const transformer = join(folder, 'transformer');
  for (const shard of readdirSync(transformer).filter((f) => f.endsWith('.safetensors'))) {
    const path = join(transformer, shard);
    const file = SafetensorsFile.open(path);
    const narrowed = new Map(file.names().map((n) => [n, file.read(n).to(dtype)]));
    file.close();
    writeSafetensors(path, narrowed);
  }
  return folder;
}

/** dtype → the shapes' ranks held in it, e.g. { bf16: [2], f32: [1, 4] }. */
function heldRanks(loaded: LoadedTransformer): Record<string, number[]> {
  const ranks: Record<string, Set<number>> = {};
  for (const name of loaded.weights.names()) {
    const t = loaded.weights.get(name);
    ranks[t.dtype] = (ranks[t.dtype] ?? new Set()).add(t.rank);
  }
  return Object.fromEntries(Object.entries(ranks).map(([d, r]) => [d, [...r].sort()]));
}

const canHold = (dtype: DType) => ops.cpuWeightDtypes().includes(dtype);

describe('bf16 weights on the CPU against the f32 path and the f32 Diffusers goldens', () => {
  const checkpoints = referenceCheckpoints().filter((c) => c.weights_dtype === 'float32');
  for (const checkpoint of checkpoints) {
    const cases = checkpoint.cases.filter((c) => c.kind === 'forward');
    it.each(cases.map((c) => [c.case, c] as const))(`${checkpoint.name} %s`, async (_, reference) => {
      if (!canHold('bf16')) {
        // OpenBLAS (TESSERA_CPU_KERNELS=openblas) reads f32 only: the loader must convert everything.
        process.stdout.write(`bf16 held weights: not taken by the ${ops.cpuKernels().kernel} kernels\n`);
      }
      const folder = narrowCopy(checkpoint.name, checkpointDir(checkpoint), 'bf16');
      const held = loadTransformer(folder);
      const converted = loadTransformer(folder, { weightDtype: 'f32' });
      expect(heldRanks(converted)).toEqual({ f32: expect.any(Array) });
      if (canHold('bf16')) {
        // Matrices (nn.Linear weights) stay bf16; norms, biases and convolution kernels are f32.
        expect(heldRanks(held).bf16).toEqual([2]);
        expect(heldRanks(held).f32).not.toContain(2);
      } else {
        expect(heldRanks(held)).toEqual({ f32: expect.any(Array) });
      }

      const file = NamedTensors.read(join(REFERENCE_DIR, reference.file));
      const inputs = file.without(['sample']);
      const fromHeld = await runForward(held, inputs);
      const fromConverted = await runForward(converted, inputs);
      const sameValues = maxRelativeError(fromHeld, fromConverted);
      const vsGolden = maxRelativeError(fromHeld, file.required('sample', 'the golden output'));
      process.stdout.write(
        `bf16 ${checkpoint.name}/${reference.case}: held vs converted ${sameValues.toExponential(2)}, ` +
          `vs the f32 golden ${vsGolden.toExponential(2)}\n`,
      );
      expect(sameValues).toBeLessThanOrEqual(HELD_VS_CONVERTED);
      expect(vsGolden).toBeGreaterThan(0);
      expect(vsGolden).toBeLessThan(BF16_VS_F32_GOLDEN);
      held.weights.release();
      converted.weights.release();
    });
  }
});

describe('f16 checkpoint', () => {
  it('holds f16 matrices as they are stored (f32 elsewhere) and runs the forward near the f32 golden', async () => {
    const folder = narrowCopy('flux-dev', join(REFERENCE_DIR, 'flux-dev', 'checkpoint'), 'f16');
    const source = SafetensorsFile.open(join(folder, 'transformer', 'diffusion_pytorch_model.safetensors'));
    const name = 'transformer_blocks.0.attn.to_q.weight';
    const stored = source.read(name);
    source.close();

    const loaded = loadTransformer(folder);
    const matrix = loaded.weights.get(name);
    expect(matrix.dtype).toBe(canHold('f16') ? 'f16' : 'f32');
    expect(Array.from(matrix.toFloat32Array())).toEqual(Array.from(stored.toFloat32Array()));
    expect(loaded.weights.get('transformer_blocks.0.attn.norm_q.weight').dtype).toBe('f32');

    const file = NamedTensors.read(join(REFERENCE_DIR, 'flux-dev', 'forward-square-txt8.safetensors'));
    const sample = await runForward(loaded, file.without(['sample']));
    const error = maxRelativeError(sample, file.required('sample', ''));
    process.stdout.write(
      `forward flux-dev with f16 weights (held ${matrix.dtype}) vs the f32 golden: max relative error ${error.toExponential(2)}\n`,
    );
    // f16 keeps 11 significant bits (relative rounding ≤ 4.9e-4 per weight); the output may not drift further
    // than a few times that, nor be identical (which would mean the weights were not rounded to f16).
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThan(1e-2);
    loaded.weights.release();
  });
});

describe('bf16 checkpoint', () => {
  it('keeps bf16 matrices by default, and computes the forward of its f32 conversion exactly', async () => {
    const folder = join(REFERENCE_DIR, 'flux-dev-bf16', 'checkpoint');
    const kept = loadTransformer(folder);
    const converted = loadTransformer(folder, { weightDtype: 'f32' });
    const name = 'single_transformer_blocks.0.proj_out.weight';
    expect(kept.weights.get(name).dtype).toBe(canHold('bf16') ? 'bf16' : 'f32');
    expect(converted.weights.get(name).dtype).toBe('f32');
    const file = NamedTensors.read(join(REFERENCE_DIR, 'flux-dev-bf16', 'forward-square-txt8.safetensors'));
    const inputs = file.without(['sample']);
    const a = await runForward(kept, inputs);
    const b = await runForward(converted, inputs);
    expect(maxRelativeError(a, b)).toBeLessThanOrEqual(HELD_VS_CONVERTED);
    process.stdout.write(
      `forward flux-dev-bf16, bf16 weights vs the golden: max relative error ${maxRelativeError(a, file.required('sample', '')).toExponential(2)}\n`,
    );
  });
});

describe('which dtype a rank holds its weights in', () => {
  const cpu: BackendCapabilities = { weightDtypes: ['f32'] };
  const gpu: BackendCapabilities = { weightDtypes: ['f32', 'bf16'] };
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
  it('converts to f32 once at load where the backend computes with f32 weights (the CPU under openblas)', () => {
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
  it('holds narrow matrices only on the CPU, in the stored 16-bit dtype it reads, and every tensor in bf16 on CUDA', () => {
    const ours: BackendCapabilities = { weightDtypes: ['f32', 'bf16', 'f16'] };
    const matrix = [8, 4];
    const bias = [8];
    expect(heldDtype(matrix, 'BF16', 'bf16', 'cpu', ours)).toBe('bf16');
    expect(heldDtype(matrix, 'F16', 'bf16', 'cpu', ours)).toBe('f16');
    expect(heldDtype(matrix, 'F32', 'bf16', 'cpu', ours)).toBe('bf16');
    expect(heldDtype(bias, 'BF16', 'bf16', 'cpu', ours)).toBe('f32');
    expect(heldDtype(matrix, 'BF16', 'bf16', 'cpu', cpu)).toBe('f32');
    expect(heldDtype(matrix, 'BF16', 'f32', 'cpu', ours)).toBe('f32');
    expect(heldDtype(bias, 'F16', 'bf16', 'cuda', gpu)).toBe('bf16');
    expect(heldDtype(matrix, 'BF16', 'f32', 'cuda', gpu)).toBe('f32');
  });
});
