/**
 * PipeFusion through `tessera denoise --pipefusion …` (a real local group) against the one-process
 * denoiser: exact when every step is a warm-up step; with one warm-up step of four, approximate by design
 * (later steps attend one-step-stale K/V of patches not yet recomputed), within the bound stated here.
 * And the weights: with pp = 2 each rank loads only its stage's blocks (bytes measured by the ranks).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
import type { Tensor } from '../../../src/runtime/native/index.js';
import { weightBytes } from '../../../src/runtime/parallel-denoise/stats.js';
import {
  type FixtureCase,
  FLUX_TXT7,
  modelDir,
  oneProcessResult,
  runCli,
  SD3_TXT7,
  writeInputs,
} from './denoise-fixtures.js';
import { maxRelativeError } from './harness.js';

const EXACT = 1e-5;
/**
 * One warm-up step of four: in steps 2–4 every patch attends the previous step's K/V for the patches not
 * yet recomputed in this step, so the final latents drift. The drift grows with the patch count (more of
 * the image is stale when a patch runs) and is large on these tiny random-weight models, whose latents
 * move a lot per step with only 4 steps: measured 1.45e-2 (flux-dev, 2 patches, also with u2 inside the
 * stages) and 1.34e-1 (sd3-medium, 4 patches of 2 token rows). The bound is well under what a broken
 * buffer gives (a zero or never-updated buffer leaves patches attending to nothing or to step 1 only,
 * an O(1) error), and the drift must be non-zero, else the stale path did not run.
 */
const STALE_BOUND = 0.25;

let dir = '';
const expected = new Map<string, { inputs: string; result: Tensor }>();

async function run(c: FixtureCase, flags: string[], statsDir?: string): Promise<number> {
  let ref = expected.get(c.name);
  if (!ref) {
    const inputs = writeInputs(c, dir, 1);
    ref = { inputs, result: await oneProcessResult(c, inputs) };
    expected.set(c.name, ref);
  }
  const output = join(dir, `out-${Math.random().toString(36).slice(2)}.safetensors`);
  const args = ['denoise', '--model', modelDir(c), '--inputs', ref.inputs, '--steps', String(c.steps)];
  args.push('--guidance-scale', String(c.guidanceScale), '-o', output, ...flags);
  const result = await runCli(args, statsDir ? { TESSERA_STATS_DIR: statsDir } : {});
  if (result.code !== 0)
    throw new Error(`tessera ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  const actual = NamedTensors.read(output).required('latents', 'result');
  return maxRelativeError(actual.toFloat32Array(), ref.result.toFloat32Array());
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-pipefusion-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PipeFusion', () => {
  const exact: Array<[FixtureCase, string, string[]]> = [
    [FLUX_TXT7, 'pp2', ['--pipefusion', '2', '--warmup-steps', '4']],
    [FLUX_TXT7, 'pp2·u2', ['--pipefusion_parallel_degree', '2', '--ulysses', '2', '--warmup_steps', '4']],
    [SD3_TXT7, 'pp2', ['--pipefusion', '2', '--warmup-steps', '4']],
    [SD3_TXT7, 'pp2·u2', ['--pipefusion', '2', '--ulysses', '2', '--warmup-steps', '4']],
  ];
  for (const [c, name, flags] of exact) {
    it(`${c.name}: ${name} with warm-up = all steps equals one process`, async () => {
      const error = await run(c, flags);
      process.stdout.write(
        `pipefusion ${c.name} ${name} warm-up 4/4: max relative error ${error.toExponential(2)}\n`,
      );
      expect(error).toBeLessThanOrEqual(EXACT);
    });
  }

  const stale: Array<[FixtureCase, string, string[]]> = [
    [FLUX_TXT7, 'pp2, 2 patches', ['--pipefusion', '2', '--warmup-steps', '1']],
    [FLUX_TXT7, 'pp2·u2, 2 patches', ['--pipefusion', '2', '--ulysses', '2', '--warmup-steps', '1']],
    [SD3_TXT7, 'pp2, 4 patches', ['--pipefusion', '2', '--warmup-steps', '1', '--num_pipeline_patch', '4']],
  ];
  for (const [c, name, flags] of stale) {
    it(`${c.name}: ${name} with 1 warm-up step stays within ${STALE_BOUND}`, async () => {
      const error = await run(c, flags);
      process.stdout.write(
        `pipefusion ${c.name} ${name} warm-up 1/4: max relative error ${error.toExponential(2)}\n`,
      );
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThanOrEqual(STALE_BOUND);
    });
  }

  it('with pp = 2 each rank loads only its own blocks (about half of the block bytes)', async () => {
    const stats = mkdtempSync(join(dir, 'stats-'));
    // SD3's blocks are alike, so the cut halves the bytes. (The Flux fixture has 2 double blocks of 2.4×
    // its 2 single blocks: no cut of 4 such blocks is near half; FLUX.1's 57 blocks cut at 48.8%, see
    // launcher.test.ts.)
    await run(SD3_TXT7, ['--pipefusion', '2', '--warmup-steps', '4'], stats);
    const full = weightBytes(loadTransformer(modelDir(SD3_TXT7)));
    const ranks = [0, 1].map(
      (r) =>
        JSON.parse(readFileSync(join(stats, `rank-${r}.json`), 'utf8')) as {
          blockBytes: number;
          loadedBytes: number;
        },
    );
    for (const [r, s] of ranks.entries()) {
      const share = s.blockBytes / full.blockBytes;
      process.stdout.write(
        `pipefusion pp2 rank ${r}: ${s.blockBytes} of ${full.blockBytes} block bytes (${(100 * share).toFixed(1)}%), ${s.loadedBytes} bytes loaded of ${full.loadedBytes}\n`,
      );
      expect(share).toBeGreaterThan(0.3);
      expect(share).toBeLessThan(0.7);
      expect(s.loadedBytes).toBeLessThan(full.loadedBytes);
    }
    expect((ranks[0]?.blockBytes ?? 0) + (ranks[1]?.blockBytes ?? 0)).toBe(full.blockBytes);
  });
});
