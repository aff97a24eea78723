/**
 * Ulysses, Ring and USP attention over real gloo groups on 127.0.0.1 against one-process attention over
 * the whole sequence, with joint text in front (Flux) and at the rear (SD3), sharded (text length
 * divides the SP degree) and replicated (it does not).
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ops } from '../../../src/runtime/native/index.js';
import { type AttentionCase, caseTensors } from './attention-case.js';
import { freePort, killAll, maxRelativeError, runNode } from './harness.js';

const WORKER = resolve(import.meta.dirname, 'attention-worker.ts');

afterEach(killAll);

/** Reassembles the ranks' outputs into the one-process layout and compares. */
async function runCase(c: AttentionCase): Promise<{ error: number; sharding: string }> {
  const size = c.ulysses * c.ring;
  const port = await freePort();
  const outcomes = await Promise.all(
    Array.from({ length: size }, (_, rank) =>
      runNode(rank, {
        args: ['--import', 'tsx', WORKER, JSON.stringify(c), String(rank), String(port)],
        deadlineMs: 45_000,
      }),
    ),
  );
  for (const o of outcomes) {
    if (o.code !== 0 || !o.result) throw new Error(`rank ${o.rank} failed (code ${o.code}):\n${o.stderr}`);
  }
  const { q, k, v } = caseTensors(c);
  const expected = ops.attention(q, k, v).toFloat32Array();
  const row = c.heads * c.headDim;
  const sp = size;
  const sharding = outcomes[0]?.result?.sharding as string;
  const n = c.imageTokens + c.textTokens;
  const actual = new Float32Array(c.batch * n * row);
  const imageStart = c.textPosition === 'front' ? c.textTokens : 0;
  const textStart = c.textPosition === 'front' ? 0 : c.imageTokens;
  for (const o of outcomes) {
    const s = o.result?.spRank as number;
    const values = o.result?.values as number[];
    const imgShard = c.imageTokens / sp;
    const txtShard = sharding === 'split' ? c.textTokens / sp : c.textTokens;
    const localN = imgShard + txtShard;
    for (let b = 0; b < c.batch; b++) {
      for (let i = 0; i < localN; i++) {
        const isText = c.textPosition === 'front' ? i < txtShard : i >= imgShard;
        const j = c.textPosition === 'front' ? (isText ? i : i - txtShard) : isText ? i - imgShard : i;
        const global = isText
          ? textStart + (sharding === 'split' ? s * txtShard : 0) + j
          : imageStart + s * imgShard + j;
        actual.set(values.slice((b * localN + i) * row, (b * localN + i + 1) * row), (b * n + global) * row);
      }
    }
  }
  return { error: maxRelativeError(actual, expected), sharding };
}

const base = { batch: 2, imageTokens: 16, heads: 4, headDim: 8 };

describe('sequence-parallel attention vs one process', () => {
  const cases: Array<[string, AttentionCase, 'split' | 'replicated']> = [
    [
      'u2, Flux text 6 (split)',
      { ...base, ulysses: 2, ring: 1, textTokens: 6, textPosition: 'front' },
      'split',
    ],
    [
      'u2, Flux text 7 (replicated)',
      { ...base, ulysses: 2, ring: 1, textTokens: 7, textPosition: 'front' },
      'replicated',
    ],
    [
      'r2, SD3 text 7 (replicated)',
      { ...base, ulysses: 1, ring: 2, textTokens: 7, textPosition: 'rear' },
      'replicated',
    ],
    [
      'r2, Flux text 8 (split)',
      { ...base, ulysses: 1, ring: 2, textTokens: 8, textPosition: 'front' },
      'split',
    ],
    [
      'u2·r2, Flux text 7 (replicated)',
      { ...base, ulysses: 2, ring: 2, textTokens: 7, textPosition: 'front' },
      'replicated',
    ],
    [
      'u2·r2, SD3 text 8 (split)',
      { ...base, ulysses: 2, ring: 2, textTokens: 8, textPosition: 'rear' },
      'split',
    ],
    [
      'u4, SD3 text 6 (replicated)',
      { ...base, ulysses: 4, ring: 1, textTokens: 6, textPosition: 'rear' },
      'replicated',
    ],
    [
      'r4, Flux text 5 (replicated)',
      { ...base, ulysses: 1, ring: 4, textTokens: 5, textPosition: 'front' },
      'replicated',
    ],
  ];
  for (const [name, c, sharding] of cases) {
    it(name, async () => {
      const { error, sharding: used } = await runCase(c);
      process.stdout.write(`attention ${name}: max relative error ${error.toExponential(2)}\n`);
      expect(used).toBe(sharding);
      expect(error).toBeLessThanOrEqual(1e-5);
    });
  }
});
