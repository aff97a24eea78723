/**
 * `tessera generate --n 2` on a local group with data parallel: each replica denoises and decodes its own
 * image (patch-parallel over its two ranks with u2), and the PNGs are byte for byte those one process
 * writes for the same prompt and seed. Each replica's ranks log the image they decoded (the ranks' JSON
 * logs in TESSERA_LOG_DIR), so the leader decoded no other replica's image.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineFixture } from '../../support/pipeline-fixtures.js';
import { runCli } from './denoise-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-generate-parallel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MODEL = pipelineFixture('pipelines/pixart-sigma');
const DECODED = "decoded its band of its replica's images";

async function generate(name: string, flags: readonly string[]): Promise<{ pngs: Buffer[]; logDir: string }> {
  const logDir = join(work, `${name}-logs`);
  const args = [
    'generate',
    '--model',
    MODEL,
    '--prompt',
    'a cat on a mat',
    '--size',
    '64x64',
    '--steps',
    '2',
  ];
  const run = await runCli([...args, '--seed', '5', '--n', '2', ...flags, '-o', join(work, `${name}.png`)], {
    TESSERA_LOG_DIR: logDir,
    TESSERA_LOG_LEVEL: 'info',
  });
  expect(run.code, run.stderr).toBe(0);
  const pngs = [0, 1].map((i) => readFileSync(join(work, `${name}-${i}.png`)));
  return { pngs, logDir };
}

/** Who decoded how many images: { rank, replica, images } per decode line of the ranks' logs. */
function decodes(logDir: string): { rank: number; replica: number; images: number }[] {
  const out: { rank: number; replica: number; images: number }[] = [];
  for (const file of readdirSync(logDir).filter((f) => f.startsWith('rank-'))) {
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      if (!line.includes(DECODED)) continue;
      const { rank, replica, images } = JSON.parse(line) as { rank: number; replica: number; images: number };
      out.push({ rank, replica, images });
    }
  }
  return out.sort((a, b) => a.rank - b.rank);
}

describe('tessera generate with data parallel', () => {
  let one: Buffer[] = [];

  it('one process writes two images', async () => {
    ({ pngs: one } = await generate('one', []));
    expect(one[0]?.equals(one[1] as Buffer)).toBe(false);
  }, 60_000);

  it('dp2: each replica decodes its own image, the same PNG bytes as one process', async () => {
    const { pngs, logDir } = await generate('dp2', ['--data-parallel', '2']);
    expect(pngs.map((p, i) => p.equals(one[i] as Buffer))).toEqual([true, true]);
    expect(decodes(logDir)).toEqual([
      { rank: 0, replica: 0, images: 1 },
      { rank: 1, replica: 1, images: 1 },
    ]);
  }, 120_000);

  it('dp2 × u2: each replica decodes its image over its 2 ranks, the same pixels as one process', async () => {
    const { pngs, logDir } = await generate('dp2u2', ['--data-parallel', '2', '--ulysses', '2']);
    expect(pngs.map((p, i) => p.equals(one[i] as Buffer))).toEqual([true, true]);
    expect(decodes(logDir)).toEqual([
      { rank: 0, replica: 0, images: 1 },
      { rank: 1, replica: 0, images: 1 },
      { rank: 2, replica: 1, images: 1 },
      { rank: 3, replica: 1, images: 1 },
    ]);
  }, 120_000);
});
