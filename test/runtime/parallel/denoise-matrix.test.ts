/**
 * The acceptance matrix: `tessera denoise` with parallel degrees — a real local CPU group started through
 * the pod launcher, gloo on 127.0.0.1 — against the one-process denoiser on the same inputs. Exact
 * methods must stay within max relative error 1e-5 (max|a − b| / max|b| over the final latents).
 * Text paths: flux-dev and sd3-medium have 7 text tokens (replicated at SP 2 and 4), flux-schnell and
 * sd3.5-medium 8 (split).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../../src/runtime/native/index.js';
import {
  denoiseWithCli,
  type FixtureCase,
  FLUX_TXT7,
  FLUX_TXT8,
  modelDir,
  oneProcessResult,
  SD3_TXT7,
  SD35_TXT8,
  writeInputs,
} from './denoise-fixtures.js';
import { maxRelativeError } from './harness.js';

const EXACT = 1e-5;

let dir = '';
const references = new Map<string, { inputs: string; expected: Tensor }>();

async function reference(c: FixtureCase, batch: 1 | 2) {
  const key = `${c.name}/${batch}`;
  let r = references.get(key);
  if (!r) {
    const inputs = writeInputs(c, dir, batch);
    r = { inputs, expected: await oneProcessResult(c, inputs) };
    references.set(key, r);
  }
  return r;
}

/** Runs the configuration and returns the max relative error against one process. */
async function parallelError(c: FixtureCase, flags: string[], batch: 1 | 2 = 1): Promise<number> {
  const { inputs, expected } = await reference(c, batch);
  const { steps, guidanceScale } = c;
  const actual = await denoiseWithCli({ model: modelDir(c), inputs, steps, guidanceScale, flags, dir });
  expect(actual.shape).toEqual(expected.shape);
  return maxRelativeError(actual.toFloat32Array(), expected.toFloat32Array());
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-matrix-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const configurations: Array<[FixtureCase, string, string[], (1 | 2)?]> = [
  [FLUX_TXT7, 'u2', ['--ulysses', '2']],
  [FLUX_TXT7, 'r2', ['--ring', '2']],
  [FLUX_TXT7, 'u2·r2', ['--ulysses', '2', '--ring', '2']],
  [FLUX_TXT7, 'u4', ['--ulysses_degree', '4']],
  [FLUX_TXT7, 'r4', ['--ring_degree', '4']],
  [FLUX_TXT7, 'dp2', ['--data-parallel', '2'], 2],
  [FLUX_TXT8, 'u2', ['--ulysses', '2']],
  [FLUX_TXT8, 'u2·r2', ['--ulysses', '2', '--ring', '2']],
  [SD3_TXT7, 'u2', ['--ulysses', '2']],
  [SD3_TXT7, 'r2', ['--ring', '2']],
  [SD3_TXT7, 'u2·r2', ['--ulysses', '2', '--ring', '2']],
  [SD3_TXT7, 'u4', ['--ulysses', '4']],
  [SD3_TXT7, 'r4', ['--ring', '4']],
  [SD3_TXT7, 'cfg2', ['--cfg-parallel']],
  [SD3_TXT7, 'dp2', ['--data_parallel_degree', '2'], 2],
  [SD3_TXT7, 'u2·cfg2', ['--ulysses', '2', '--use_cfg_parallel']],
  [SD3_TXT7, 'r2·cfg2·dp2', ['--ring', '2', '--cfg-parallel', '--data-parallel', '2'], 2],
  [SD35_TXT8, 'u2', ['--ulysses', '2']],
  [SD35_TXT8, 'r2', ['--ring', '2']],
];

describe('parallel denoise matches the one-process denoiser', () => {
  for (const [c, name, flags, batch] of configurations) {
    it(`${c.name}: ${name}`, async () => {
      const error = await parallelError(c, flags, batch ?? 1);
      process.stdout.write(`denoise ${c.name} ${name}: max relative error ${error.toExponential(2)}\n`);
      expect(error).toBeLessThanOrEqual(EXACT);
    });
  }
});
