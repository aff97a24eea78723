// Fuzzes the safetensors reader in-process: 10,000 files mutated from valid seeds must each either open
// (and then read back every tensor) or fail with a JavaScript Error naming the file. A crash kills the
// test process, so finishing at all is the main assertion.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../../src/runtime/native/index.js';
import { rng } from '../../support/rng.js';
import { f32Bytes, safetensorsBytes, u16Bytes } from '../safetensors-writer.js';

const ITERATIONS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'tessera-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seeds: Buffer[] = [
  safetensorsBytes([{ name: 'w', dtype: 'F32', shape: [2, 3], bytes: f32Bytes([1, 2, 3, 4, 5, 6]) }]),
  safetensorsBytes(
    [
      { name: 'a.weight', dtype: 'BF16', shape: [4], bytes: u16Bytes([0x3f80, 0x4000, 0xbf80, 0x7f80]) },
      { name: 'a.bias', dtype: 'F16', shape: [2, 1], bytes: u16Bytes([0x3c00, 0x7c00]) },
      { name: 'ids', dtype: 'I64', shape: [1], bytes: new Uint8Array(8) },
      { name: 'empty', dtype: 'F32', shape: [0], bytes: new Uint8Array() },
      { name: 'scalar', dtype: 'F32', shape: [], bytes: f32Bytes([7]) },
    ],
    { format: 'pt', note: 'caf\u00e9 \u2603' },
  ),
  safetensorsBytes([]),
];

/** Characters that steer the JSON parser into its less common branches. */
const interesting = Buffer.from('{}[]":,-0123456789eE.\\u tfn\u0000\u00ff');

type Mutation = (input: Buffer, next: () => number) => Buffer;
const int = (next: () => number, n: number): number => Math.floor(next() * n);

const mutations: Mutation[] = [
  // Flip bits anywhere.
  (b, next) => {
    const out = Buffer.from(b);
    for (let i = 0, n = 1 + int(next, 4); i < n && out.length > 0; i++) {
      const at = int(next, out.length);
      out[at] = (out[at] as number) ^ (1 << int(next, 8));
    }
    return out;
  },
  // Replace header bytes with parser-relevant characters.
  (b, next) => {
    const out = Buffer.from(b);
    for (let i = 0, n = 1 + int(next, 3); i < n && out.length > 8; i++) {
      out[8 + int(next, out.length - 8)] = interesting[int(next, interesting.length)] as number;
    }
    return out;
  },
  // Truncate or extend.
  (b, next) =>
    next() < 0.5
      ? b.subarray(0, int(next, b.length + 1))
      : Buffer.concat([b, Buffer.alloc(1 + int(next, 16), int(next, 256))]),
  // Rewrite the header length: off by a little, or wildly.
  (b, next) => {
    const out = Buffer.from(b);
    if (out.length < 8) return out;
    const current = out.readBigUInt64LE(0);
    const choices = [
      current + 1n,
      current - 1n,
      0n,
      2n ** 64n - 1n,
      2n ** 63n,
      BigInt(int(next, 1 << 30)),
      100_000_001n,
    ];
    out.writeBigUInt64LE(BigInt.asUintN(64, choices[int(next, choices.length)] as bigint), 0);
    return out;
  },
  // Replace a number inside the JSON (shape or offset) with an edge value, keeping the length prefix right.
  (b, next) => {
    if (b.length < 8) return b;
    const n = Number(b.readBigUInt64LE(0));
    const json = b.subarray(8, 8 + n).toString('latin1');
    const numbers = [...json.matchAll(/\d+/g)];
    if (numbers.length === 0) return b;
    const pick = numbers[int(next, numbers.length)] as RegExpMatchArray;
    const values = [
      '0',
      '1',
      '-1',
      '18446744073709551615',
      '18446744073709551616',
      '4611686018427387904',
      '1e3',
      '0.5',
      '99999999999',
    ];
    const edited =
      json.slice(0, pick.index) +
      values[int(next, values.length)] +
      json.slice((pick.index ?? 0) + pick[0].length);
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(edited, 'latin1')));
    return Buffer.concat([head, Buffer.from(edited, 'latin1'), b.subarray(8 + n)]);
  },
  // Swap a dtype name or duplicate a JSON fragment.
  (b, next) => {
    if (b.length < 8) return b;
    const n = Number(b.readBigUInt64LE(0));
    let json = b.subarray(8, 8 + n).toString('latin1');
    const dtypes = ['F32', 'BF16', 'F16', 'F64', 'I8', 'U64', 'BOOL', 'F8_E4M3', 'X', ''];
    if (next() < 0.5) {
      json = json.replace(/"(F32|BF16|F16|I64)"/, `"${dtypes[int(next, dtypes.length)]}"`);
    } else {
      const from = int(next, json.length);
      const to = Math.min(json.length, from + 1 + int(next, 40));
      const at = int(next, json.length);
      json = json.slice(0, at) + json.slice(from, to) + json.slice(at);
    }
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(json, 'latin1')));
    return Buffer.concat([head, Buffer.from(json, 'latin1'), b.subarray(8 + n)]);
  },
];

describe('safetensors reader fuzz', () => {
  it(`survives ${ITERATIONS} mutated files: each opens and reads back, or fails naming the file`, () => {
    const next = rng(0x5eed);
    const path = join(dir, 'fuzz.safetensors');
    let opened = 0;
    let rejected = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < ITERATIONS; i++) {
      let bytes = seeds[int(next, seeds.length)] as Buffer;
      for (let m = 0, n = 1 + int(next, 3); m < n; m++) {
        bytes = (mutations[int(next, mutations.length)] as Mutation)(bytes, next);
      }
      writeFileSync(path, bytes);
      let file: SafetensorsFile;
      try {
        file = SafetensorsFile.open(path);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        const message = (err as Error).message;
        expect(message.startsWith(`safetensors file '${path}': `)).toBe(true);
        reasons.add(message.slice(path.length + 20).replace(/[\d"].*$/, ''));
        rejected++;
        continue;
      }
      opened++;
      for (const name of file.names()) {
        const info = file.info(name);
        if (!['F32', 'BF16', 'F16'].includes(info.dtype)) {
          expect(() => file.read(name)).toThrow(/only F32, BF16 and F16 can be loaded/);
          continue;
        }
        const t = file.read(name, { dtype: 'f32' });
        expect(t.shape).toEqual(info.shape);
        expect(t.toFloat32Array().length).toBe(info.shape.reduce((a, b) => a * b, 1));
        t.release();
      }
      file.close();
    }
    console.log(
      `safetensors fuzz: ${opened} opened and read back, ${rejected} rejected (${reasons.size} reasons)`,
    );
    expect(opened + rejected).toBe(ITERATIONS);
    // Both outcomes must be common, or the mutations are not exploring the format.
    expect(opened).toBeGreaterThan(ITERATIONS / 50);
    expect(rejected).toBeGreaterThan(ITERATIONS / 2);
    expect(reasons.size).toBeGreaterThan(10);
  }, 120_000);
});
