/**
 * Patch-parallel VAE decoding over real gloo groups of 2 and 4 processes on 127.0.0.1 equals the
 * one-process decode (≤ 1e-5 relative), with even and uneven row bands, the 16- and 4-channel VAEs and a
 * batch of 2; every rank ends with the whole image.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Tensor } from '../../../src/runtime/native/index.js';
import { PatchVaeError, rowBands } from '../../../src/runtime/parallel/patch-vae.js';
import { loadVaeDecoder } from '../../../src/runtime/pipeline/vae/load-vae.js';
import { wholeImage } from '../../../src/runtime/pipeline/vae/spatial-ops.js';
import { pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';
import { freePort, killAll, maxRelativeError, runNode } from './harness.js';

const WORKER = resolve(import.meta.dirname, 'patch-vae-worker.ts');

afterEach(killAll);

const CASES = [
  { vae: 'vae-16ch', file: 'vae-16ch-nonsquare-b2.safetensors', z: [2, 16, 6, 10], ranks: 2 }, // 3 + 3 rows
  { vae: 'vae-16ch', file: 'vae-16ch-nonsquare-b2.safetensors', z: [2, 16, 6, 10], ranks: 4 }, // 2 2 1 1
  { vae: 'vae-4ch', file: 'vae-4ch-nonsquare-b1.safetensors', z: [1, 4, 10, 6], ranks: 4 }, // 3 3 2 2
];

describe('patch-parallel VAE decode equals one process', () => {
  for (const c of CASES) {
    it(`${c.vae}, z [${c.z.join(', ')}], ${c.ranks} ranks (bands ${rowBands(c.z[2] as number, c.ranks)
      .map((b) => b.rows)
      .join('+')})`, async () => {
      const port = await freePort();
      const outcomes = await Promise.all(
        Array.from({ length: c.ranks }, (_, rank) =>
          runNode(rank, {
            args: ['--import', 'tsx', WORKER, JSON.stringify(c), String(rank), String(port)],
            deadlineMs: 90_000,
          }),
        ),
      );
      for (const o of outcomes) {
        if (o.code !== 0 || !o.result)
          throw new Error(`rank ${o.rank} failed (code ${o.code}):\n${o.stderr}`);
      }
      const decoder = loadVaeDecoder(pipelineFixture(`vae/${c.vae}`));
      const z = Tensor.fromArray(new SafetensorsLite(pipelineFixture(`vae/${c.file}`)).f32('z'), c.z);
      const expected = (await decoder.decode(z, wholeImage)).toFloat32Array();
      for (const o of outcomes) {
        expect(o.result?.shape).toEqual([c.z[0], 3, (c.z[2] as number) * 8, (c.z[3] as number) * 8]);
        const error = maxRelativeError(o.result?.values as number[], expected);
        expect(error, `rank ${o.rank}`).toBeLessThanOrEqual(1e-5);
      }
    }, 120_000);
  }

  it('bands cover the rows, earlier ranks longer; fewer rows than ranks is refused', () => {
    expect(rowBands(10, 4)).toEqual([
      { start: 0, rows: 3 },
      { start: 3, rows: 3 },
      { start: 6, rows: 2 },
      { start: 8, rows: 2 },
    ]);
    expect(() => rowBands(3, 4)).toThrow(PatchVaeError);
  });
});
