/**
 * PixArt-Σ with parallel degrees — `tessera denoise` on a real local CPU group over gloo — against the
 * one-process denoiser on the same inputs (the PixArt-Σ pipeline fixture: 4 heads, 4 blocks, 4×4 patches,
 * a masked caption, classifier-free guidance, DPM-Solver++ 4 steps): Ulysses 2, Ring 2 (image tokens
 * sharded, the caption replicated on every rank), CFG parallel, data parallel and PipeFusion with every
 * step a warm-up step, each within 1e-5 relative; PipeFusion with stale patches stays within its bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { denoiseInputs } from '../../../src/runtime/denoise/input-files.js';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { ops, type Tensor } from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { readSchedulerConfig } from '../../../src/runtime/scheduler/scheduler.js';
import { pipelineFixture } from '../../support/pipeline-fixtures.js';
import { denoiseWithCli } from './denoise-fixtures.js';
import { maxRelativeError } from './harness.js';

const MODEL = pipelineFixture('pipelines/pixart-sigma');
const STEPS = 4;
const GUIDANCE = 4.5;
const INPUT_NAMES = [
  'latents',
  'prompt_embeds',
  'prompt_attention_mask',
  'negative_prompt_embeds',
  'negative_prompt_attention_mask',
];

let dir = '';
const references = new Map<number, { path: string; expected: Tensor }>();

async function reference(batch: 1 | 2) {
  let r = references.get(batch);
  if (!r) {
    const file = NamedTensors.read(pipelineFixture('pipelines/pixart-denoise.safetensors'));
    const tensors = new Map<string, Tensor>();
    for (const name of INPUT_NAMES) {
      const t = file.required(name, 'fixture input');
      // A second, different sample for data parallel (masks stay masks).
      const second = name.endsWith('mask') ? t : ops.affine(t, -0.75, 0.1);
      tensors.set(name, batch === 1 ? t : ops.concat([t, second], 0));
    }
    const path = join(dir, `pixart-b${batch}.safetensors`);
    writeSafetensors(path, tensors);
    const loaded = loadTransformer(MODEL);
    const { inputs } = denoiseInputs(loaded, NamedTensors.read(path));
    const result = await denoise(loaded, inputs, {
      steps: STEPS,
      guidanceScale: GUIDANCE,
      scheduler: readSchedulerConfig(MODEL),
    });
    r = { path, expected: result.latents };
    references.set(batch, r);
  }
  return r;
}

async function parallelError(flags: string[], batch: 1 | 2 = 1): Promise<number> {
  const { path, expected } = await reference(batch);
  const run = { model: MODEL, inputs: path, steps: STEPS, guidanceScale: GUIDANCE, flags, dir };
  const actual = await denoiseWithCli(run);
  expect(actual.shape).toEqual(expected.shape);
  return maxRelativeError(actual.toFloat32Array(), expected.toFloat32Array());
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-pixart-parallel-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXACT: Array<[string, string[], (1 | 2)?]> = [
  ['u2', ['--ulysses', '2']],
  ['r2', ['--ring', '2']],
  ['cfg2', ['--cfg-parallel']],
  ['dp2', ['--data-parallel', '2'], 2],
  ['pp2 (warm-up = all steps)', ['--pipefusion', '2', '--warmup-steps', String(STEPS)]],
];

describe('PixArt-Σ parallel denoise matches one process', () => {
  for (const [name, flags, batch] of EXACT) {
    it(name, async () => {
      const error = await parallelError(flags, batch ?? 1);
      process.stdout.write(`pixart ${name}: max relative error ${error.toExponential(2)}\n`);
      expect(error).toBeLessThanOrEqual(1e-5);
    }, 240_000);
  }

  it('pp2 with 1 warm-up step (stale patches, the DPM history kept per band) stays within 5e-2', async () => {
    const error = await parallelError(['--pipefusion', '2', '--warmup-steps', '1']);
    process.stdout.write(`pixart pp2 warm-up 1/4: max relative error ${error.toExponential(2)}\n`);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(5e-2);
  }, 240_000);
});
