/**
 * Text encoders against transformers (F32 goldens, tools/reference/text_encoder_fixtures.py): T5 v1.1
 * with and without the padding mask, CLIP-L (legacy eos id, no projection), CLIP-L with projection
 * (sharded weights), CLIP-G (exact gelu) — last hidden state, pooled output, penultimate hidden state,
 * projected embeddings — within 1e-4 relative; T5's relative position buckets exactly; load errors name
 * the file, field or tensor.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointConfigError, CheckpointMismatchError } from '../../../src/runtime/checkpoint/index.js';
import type { Tensor } from '../../../src/runtime/native/index.js';
import { loadTextEncoder } from '../../../src/runtime/pipeline/text-encoders/load-text-encoder.js';
import { relativeBucket } from '../../../src/runtime/pipeline/text-encoders/t5-encoder.js';
import { compareToGolden, type Tolerance } from '../../support/golden-compare.js';
import { pipelineFixture, readPipelineJson } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

interface EncoderCase {
  name: string;
  class: string;
  folder: string;
  io: string;
  outputs: string[];
  tolerance: Tolerance;
}
const manifest = readPipelineJson<{
  encoders: EncoderCase[];
  t5_buckets: {
    relative_positions: [number, number];
    num_buckets: number;
    max_distance: number;
    buckets: number[];
  };
}>('text-encoders.json');

const dirOf = (c: EncoderCase) => pipelineFixture(`text-encoders/${c.folder}`);

function expectClose(ours: Tensor, golden: SafetensorsLite, name: string, c: EncoderCase): void {
  expect(ours.shape).toEqual(golden.shape(name));
  const result = compareToGolden(ours.toFloat32Array(), golden.f32(name), c.tolerance, `${c.name} ${name}`);
  expect(result.ok, result.message).toBe(true);
}

describe('text encoders match transformers', () => {
  for (const c of manifest.encoders) {
    it(`${c.name} (${c.class}): ${c.outputs.join(', ')}`, () => {
      const io = new SafetensorsLite(pipelineFixture(`text-encoders/${c.io}`));
      const [batch, seq] = io.shape('input_ids') as [number, number];
      const ids = Int32Array.from(io.f32('input_ids'));
      const encoder = loadTextEncoder(dirOf(c));
      if (encoder.kind === 't5') {
        expectClose(encoder.model.encode(ids, batch, seq), io, 'last_hidden_state', c);
        const mask = Uint8Array.from(io.f32('attention_mask'));
        expectClose(encoder.model.encode(ids, batch, seq, mask), io, 'last_hidden_state_masked', c);
        return;
      }
      const out = encoder.model.encode(ids, batch, seq, { penultimate: true });
      expectClose(out.lastHiddenState, io, 'last_hidden_state', c);
      expectClose(out.penultimate as Tensor, io, 'penultimate_hidden_state', c);
      if (c.outputs.includes('text_embeds')) expectClose(out.textEmbeds as Tensor, io, 'text_embeds', c);
      else expectClose(out.pooled, io, 'pooler_output', c);
    });
  }

  it('T5 relative position buckets equal transformers for |key − query| ≤ 600', () => {
    const {
      relative_positions: [from],
      num_buckets,
      max_distance,
      buckets,
    } = manifest.t5_buckets;
    const ours = buckets.map((_, i) => relativeBucket(from + i, num_buckets, max_distance));
    expect(ours).toEqual(buckets);
  });
});

describe('text encoder loading checks', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-text-encoder-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const copy = (name: string): string => {
    const dir = join(scratch, `${name}-${Math.random().toString(36).slice(2)}`);
    cpSync(pipelineFixture(`text-encoders/${name}`), dir, { recursive: true });
    return dir;
  };
  const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void): void => {
    const path = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(config);
    writeFileSync(path, JSON.stringify(config));
  };

  it('a layer count that disagrees with the weights names num_layers', () => {
    const dir = copy('t5');
    editConfig(dir, (c) => {
      c.num_layers = 5;
    });
    expect(() => loadTextEncoder(dir)).toThrow(CheckpointMismatchError);
    expect(() => loadTextEncoder(dir)).toThrow(/num_layers = 5/);
  });

  it('a width that disagrees names the tensor and the field', () => {
    const dir = copy('clip-g');
    editConfig(dir, (c) => {
      c.intermediate_size = 50;
    });
    expect(() => loadTextEncoder(dir)).toThrow(/mlp\.fc1\.weight.*intermediate_size/);
  });

  it('an unsupported architecture or activation is refused naming the field', () => {
    const dir = copy('clip-l');
    editConfig(dir, (c) => {
      c.architectures = ['BertModel'];
    });
    expect(() => loadTextEncoder(dir)).toThrow(CheckpointConfigError);
    expect(() => loadTextEncoder(dir)).toThrow(/"architectures"/);
    const t5 = copy('t5');
    editConfig(t5, (c) => {
      c.feed_forward_proj = 'relu';
    });
    expect(() => loadTextEncoder(t5)).toThrow(/"feed_forward_proj"/);
  });

  it('T5 reads its tied embedding under either name', () => {
    const io = new SafetensorsLite(pipelineFixture('text-encoders/t5.io.safetensors'));
    const dir = copy('t5');
    const file = new SafetensorsLite(join(dir, 'model.safetensors'));
    const renamed = file.names().map((name) => ({
      name: name === 'shared.weight' ? 'encoder.embed_tokens.weight' : name,
      dtype: file.dtype(name),
      shape: file.shape(name),
      data: file.bytesOf(name),
    }));
    writeSafetensorsRaw(join(dir, 'model.safetensors'), renamed);
    const encoder = loadTextEncoder(dir);
    if (encoder.kind !== 't5') throw new Error('expected T5');
    const [batch, seq] = io.shape('input_ids') as [number, number];
    const out = encoder.model.encode(Int32Array.from(io.f32('input_ids')), batch, seq);
    const result = compareToGolden(
      out.toFloat32Array(),
      io.f32('last_hidden_state'),
      { atol: 1e-4, rtol: 1e-4 },
      'renamed',
    );
    expect(result.ok, result.message).toBe(true);
  });

  it('a token id outside the vocabulary is refused', () => {
    const encoder = loadTextEncoder(pipelineFixture('text-encoders/clip-l'));
    if (encoder.kind !== 'clip') throw new Error('expected CLIP');
    expect(() => encoder.model.encode(Int32Array.from([1112, 5000, 1113]), 1, 3)).toThrow(
      /outside the vocabulary of 1114/,
    );
  });
});

function writeSafetensorsRaw(
  path: string,
  tensors: { name: string; dtype: string; shape: number[]; data: Buffer }[],
): void {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([length, Buffer.from(json), ...tensors.map((t) => t.data)]));
}
