/**
 * Loading a stage of a bf16 checkpoint never holds a whole f32 copy of it: each tensor goes from the
 * mapped file straight into its bf16 tensor (the mapped pages dropped after the copy), so the resident
 * set of a fresh process grows by about the stage's bf16 bytes — not by the f32 copy's twice that, which
 * the same measurement sees when the stage is loaded as f32 (the control that shows it can tell them
 * apart). The checkpoint is a FLUX layout of ~140 M parameters written here, so the stage's bytes are far
 * above the noise of a Node process.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTensors, stageTensors } from '../../../src/runtime/checkpoint/index.js';
import { manifestFor, readTransformerConfig } from '../../../src/runtime/families/index.js';
import { stageRange } from '../../../src/runtime/parallel-denoise/stages.js';
import { resultOfChild } from '../../support/memory-child.js';

const CHILD = resolve(import.meta.dirname, 'stage-memory-child.ts');
const MB = 1024 * 1024;

let folder = '';
let stage = { fromBlock: 0, toBlock: 0 };
let stageBf16Bytes = 0;
/** What a bf16 load holds on the CPU: the matrices in bf16, norms and biases in f32 (weight-dtype.ts). */
let stageHeldBytes = 0;

/** A FLUX.1-layout checkpoint of width 1024 (16 heads × 64), 2 double and 4 single blocks, all bf16. */
function writeCheckpoint(dir: string): void {
  mkdirSync(join(dir, 'transformer'), { recursive: true });
  writeFileSync(
    join(dir, 'model_index.json'),
    JSON.stringify({ _class_name: 'FluxPipeline', transformer: ['diffusers', 'FluxTransformer2DModel'] }),
  );
  writeFileSync(
    join(dir, 'transformer', 'config.json'),
    JSON.stringify({
      _class_name: 'FluxTransformer2DModel',
      attention_head_dim: 64,
      num_attention_heads: 16,
      axes_dims_rope: [8, 28, 28],
      guidance_embeds: true,
      in_channels: 64,
      joint_attention_dim: 1024,
      pooled_projection_dim: 768,
      num_layers: 2,
      num_single_layers: 4,
    }),
  );
  const tensors = allTensors(manifestFor(readTransformerConfig(dir)));
  // Streamed, one reused buffer: the writer itself never holds the checkpoint.
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 2;
    header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'transformer', 'diffusion_pytorch_model.safetensors'), 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, length);
    writeSync(fd, json);
    // 0x3c23 is bf16 0.00995: small, finite, and not zero (zero pages could be shared by the kernel).
    const chunk = Buffer.alloc(8 * MB);
    for (let i = 0; i < chunk.length; i += 2) chunk.writeUInt16LE(0x3c23 + ((i >> 1) & 0xff), i);
    for (let left = offset; left > 0; left -= chunk.length) {
      writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    }
  } finally {
    closeSync(fd);
  }
}

interface Measured {
  baseKb: number;
  peakKb: number;
  heldBytes: number;
}

function loadInChild(dtype: 'f32' | 'bf16'): Promise<Measured> {
  return resultOfChild<Measured>(CHILD, [folder, String(stage.fromBlock), String(stage.toBlock), dtype]);
}

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'tessera-stage-memory-'));
  writeCheckpoint(folder);
  const config = readTransformerConfig(folder);
  stage = stageRange(config, 2, 0);
  stageBf16Bytes = stageTensors(manifestFor(config), stage).reduce(
    (n, t) => n + t.shape.reduce((a, b) => a * b, 1) * 2,
    0,
  );
  stageHeldBytes = stageTensors(manifestFor(config), stage).reduce(
    (n, t) => n + t.shape.reduce((a, b) => a * b, 1) * (t.shape.length === 2 ? 2 : 4),
    0,
  );
}, 120_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('loading a stage of a bf16 checkpoint', () => {
  it('never holds a whole f32 copy of it (peak resident growth against the stage bytes)', async () => {
    const bf16 = await loadInChild('bf16');
    const f32 = await loadInChild('f32');
    const grew = (m: Measured) => (m.peakKb * 1024 - m.baseKb * 1024) / stageBf16Bytes;
    process.stdout.write(
      `stage [${stage.fromBlock}, ${stage.toBlock}) of a bf16 FLUX layout: ${(stageBf16Bytes / MB).toFixed(1)} MB bf16; ` +
        `peak resident growth while loading: bf16 ${grew(bf16).toFixed(2)}× the stage's bf16 bytes, ` +
        `f32 ${grew(f32).toFixed(2)}× (the f32 copy alone is 2×)\n`,
    );
    expect(stageBf16Bytes).toBeGreaterThan(100 * MB);
    expect(bf16.heldBytes).toBe(stageHeldBytes);
    expect(f32.heldBytes).toBe(2 * stageBf16Bytes);
    // bf16: the stage once, plus one tensor in flight — well below an f32 copy (2×).
    expect(grew(bf16)).toBeLessThan(1.3);
    // The control: the same measurement sees the f32 copy.
    expect(grew(f32)).toBeGreaterThan(1.8);
  }, 300_000);
});
