// Fuzzes the checkpoint loader's JSON inputs: model_index.json, transformer/config.json and the shard
// index of the tiny reference checkpoints are mutated (edge numbers such as 2^31 and 1e308, wrong types,
// huge lists, deleted keys, broken text), and each mutated folder is loaded with the native reader. Every
// load must either succeed or fail with one of the loader's own errors and a message of sane length —
// never a RangeError, an out-of-memory abort or minutes of per-layer work. Finishing is the main assertion.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointConfigError, CheckpointMismatchError } from '../../../src/runtime/checkpoint/index.js';
import { loadTransformer, ModelLoadError } from '../../../src/runtime/model-loader/index.js';
import { checkpointDir } from '../../support/reference-fixtures.js';
import { rng } from '../../support/rng.js';

const ITERATIONS = 1_500;
const scratch = mkdtempSync(join(tmpdir(), 'tessera-config-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Seed {
  dir: string;
  files: Record<string, string>;
}

const JSON_FILES = [
  'model_index.json',
  'transformer/config.json',
  'transformer/diffusion_pytorch_model.safetensors.index.json',
];

function seedOf(name: string): Seed {
  const dir = join(scratch, name);
  cpSync(checkpointDir(name), dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const f of JSON_FILES) {
    try {
      files[f] = readFileSync(join(dir, f), 'utf8');
    } catch {
      // not every layout has a shard index
    }
  }
  return { dir, files };
}

const seeds = ['flux-dev', 'flux-schnell', 'sd3-medium', 'sd35-medium'].map(seedOf);

const int = (next: () => number, n: number): number => Math.floor(next() * n);
const pick = <T>(next: () => number, items: readonly T[]): T => items[int(next, items.length)] as T;

const EDGE_VALUES: unknown[] = [
  0,
  -1,
  1,
  2,
  3,
  4,
  1024,
  1025,
  10_000,
  65_536,
  65_537,
  2 ** 31,
  2 ** 53,
  1e308,
  -1e308,
  0.5,
  '4',
  '',
  null,
  true,
  false,
  [],
  [0, 0, 0],
  [2, 2, 4],
  [1e308, 2, 2],
  [-2, 4, 6],
  {},
  { nested: [1, 2] },
  Array.from({ length: 20_000 }, () => 0),
  'x'.repeat(10_000),
  'rms_norm',
  'FluxTransformer2DModel',
  'SD3Transformer2DModel',
  ['diffusers', 'FluxTransformer2DModel'],
  ['diffusers', 'SD3Transformer2DModel'],
  [null, null],
  '../outside.safetensors',
  'diffusion_pytorch_model-00001-of-00004.safetensors',
];

const KNOWN_KEYS = [
  'num_layers',
  'num_single_layers',
  'attention_head_dim',
  'num_attention_heads',
  'joint_attention_dim',
  'pooled_projection_dim',
  'caption_projection_dim',
  'in_channels',
  'out_channels',
  'patch_size',
  'sample_size',
  'pos_embed_max_size',
  'axes_dims_rope',
  'dual_attention_layers',
  'guidance_embeds',
  'qk_norm',
  '_class_name',
  'transformer',
  'weight_map',
];

type Mutation = (text: string, next: () => number) => string;

/** Applies `edit` to a JSON object, or half the time to its weight_map; unparsable text stays as it is. */
function editObject(text: string, next: () => number, edit: (o: Record<string, unknown>) => void): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return text;
  const root = parsed as Record<string, unknown>;
  const map = root.weight_map;
  const inMap = typeof map === 'object' && map !== null && !Array.isArray(map) && next() < 0.5;
  edit(inMap ? (map as Record<string, unknown>) : root);
  return JSON.stringify(root);
}

const mutations: Mutation[] = [
  // Set a present or well-known key to an edge value.
  (text, next) =>
    editObject(text, next, (o) => {
      const keys = Object.keys(o);
      const key = next() < 0.6 && keys.length > 0 ? pick(next, keys) : pick(next, KNOWN_KEYS);
      o[key] = pick(next, EDGE_VALUES);
    }),
  // Delete a key (the constructor default then applies, or the field is missing).
  (text, next) =>
    editObject(text, next, (o) => {
      const keys = Object.keys(o);
      if (keys.length > 0) delete o[pick(next, keys)];
    }),
  // Nudge a number by one or scale it.
  (text, next) =>
    editObject(text, next, (o) => {
      const numeric = Object.keys(o).filter((k) => typeof o[k] === 'number');
      if (numeric.length === 0) return;
      const key = pick(next, numeric);
      const v = o[key] as number;
      o[key] = pick(next, [v + 1, v - 1, v * 2, v * 1000, -v, v / 2]);
    }),
  // Break the text: truncate, or flip a character.
  (text, next) => {
    if (next() < 0.5) return text.slice(0, int(next, text.length + 1));
    const at = int(next, text.length);
    return text.slice(0, at) + pick(next, ['{', '}', '"', ',', '9', 'e', ' ', '\u0000']) + text.slice(at + 1);
  },
  // Replace the whole document with another JSON type.
  (_text, next) => JSON.stringify(pick(next, [[], 1e308, null, 'config', [{}]])),
];

function loaderError(err: unknown): boolean {
  return (
    err instanceof CheckpointConfigError ||
    err instanceof CheckpointMismatchError ||
    err instanceof ModelLoadError
  );
}

describe('checkpoint config fuzz', () => {
  it(`survives ${ITERATIONS} mutated model folders: each loads, or fails with a loader error`, () => {
    const next = rng(0xc0f1);
    let loaded = 0;
    let rejected = 0;
    const reasons = new Set<string>();
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = pick(next, seeds);
      const mutated = { ...seed.files };
      const present = Object.keys(mutated);
      for (let m = 0, n = 1 + int(next, 2); m < n; m++) {
        const file = next() < 0.7 ? 'transformer/config.json' : pick(next, present);
        mutated[file] = pick(next, mutations)(mutated[file] as string, next);
      }
      for (const [file, text] of Object.entries(mutated)) writeFileSync(join(seed.dir, file), text);
      const started = performance.now();
      try {
        loadTransformer(seed.dir);
        loaded++;
      } catch (err) {
        if (!loaderError(err)) throw err;
        const message = (err as Error).message;
        // The message quotes the offending value; a 20,000-entry list must not become a 100 KB line.
        expect(message.length).toBeLessThan(2_000);
        reasons.add(message.replace(seed.dir, '').replace(/[\d"[].*$/, ''));
        rejected++;
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    for (const seed of seeds) {
      for (const [file, text] of Object.entries(seed.files)) writeFileSync(join(seed.dir, file), text);
    }
    console.log(
      `config fuzz: ${loaded} loaded, ${rejected} rejected (${reasons.size} reasons), slowest load ${Math.round(slowest)} ms`,
    );
    expect(loaded + rejected).toBe(ITERATIONS);
    expect(loaded).toBeGreaterThan(ITERATIONS / 20);
    expect(rejected).toBeGreaterThan(ITERATIONS / 2);
    expect(reasons.size).toBeGreaterThan(15);
  }, 180_000);
});
