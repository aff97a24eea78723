/**
 * The planner's weights per rank against what the ranks of a real local group load: `tessera denoise`
 * runs the committed tiny checkpoints (real Diffusers names and layout) over gloo with each rank writing
 * its stats (TESSERA_STATS_DIR), and every rank's loaded bytes must equal the planner's parameters for
 * that rank (stage blocks, embedders on the first stage, head on the last) at the bytes per value the
 * ranks hold (f32 here: the fixtures are f32).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specFromDiffusersFolder } from '../../src/shared/models/index.js';
import { type Degrees, rankToCoords, worldSize } from '../../src/shared/plan/index.js';
import { stageParameters } from '../../src/shared/planner/index.js';
import {
  type FixtureCase,
  FLUX_TXT7,
  modelDir,
  runCli,
  SD3_TXT7,
  writeInputs,
} from '../runtime/parallel/denoise-fixtures.js';

/** The fixtures are f32 checkpoints, so the ranks hold f32 (a bf16 checkpoint's matrices would stay bf16). */
const CPU_BYTES_PER_VALUE = 4;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-rank-memory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const degrees = (pipefusion: number, ulysses: number): Degrees => ({
  dataParallel: 1,
  cfg: 1,
  pipefusion,
  ring: 1,
  ulysses,
});

async function loadedBytesPerRank(c: FixtureCase, d: Degrees): Promise<number[]> {
  const stats = mkdtempSync(join(dir, 'stats-'));
  const inputs = writeInputs(c, dir, 1);
  const args = ['denoise', '--model', modelDir(c), '--inputs', inputs, '--steps', '2'];
  args.push('--guidance-scale', String(c.guidanceScale), '-o', join(stats, 'out.safetensors'));
  args.push('--pipefusion', String(d.pipefusion), '--ulysses', String(d.ulysses), '--warmup-steps', '2');
  const run = await runCli(args, { TESSERA_STATS_DIR: stats });
  if (run.code !== 0) throw new Error(`tessera ${args.join(' ')} exited ${run.code}:\n${run.stderr}`);
  return Array.from({ length: worldSize(d) }, (_, rank) => {
    const s = JSON.parse(readFileSync(join(stats, `rank-${rank}.json`), 'utf8')) as { loadedBytes: number };
    return s.loadedBytes;
  });
}

describe("the planner's per-rank weights equal what the ranks load", () => {
  for (const [c, d] of [
    [FLUX_TXT7, degrees(2, 2)],
    [SD3_TXT7, degrees(4, 1)],
  ] as const) {
    it(`${c.name}, pp${d.pipefusion}·u${d.ulysses}`, async () => {
      const model = specFromDiffusersFolder(modelDir(c));
      const perStage = stageParameters(model, d.pipefusion);
      const measured = await loadedBytesPerRank(c, d);
      const planned = measured.map(
        (_, rank) => (perStage[rankToCoords(rank, d).pipefusion] ?? 0) * CPU_BYTES_PER_VALUE,
      );
      for (const [rank, bytes] of measured.entries()) {
        process.stdout.write(
          `${c.name} pp${d.pipefusion}·u${d.ulysses} rank ${rank}: planner ${planned[rank]} bytes, rank loaded ${bytes}\n`,
        );
      }
      expect(planned).toEqual(measured);
    }, 240_000);
  }
});
