/**
 * The VAE decoder against Diffusers' AutoencoderKL.decode (F32 goldens, tools/reference/vae_fixtures.py):
 * the 16-channel FLUX/SD3 layout and the 4-channel SD layout with post_quant_conv, square and non-square,
 * batch 1 and 2, within 1e-4 relative; load errors name the field or tensor.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointConfigError, CheckpointMismatchError } from '../../../src/runtime/checkpoint/index.js';
import { Tensor } from '../../../src/runtime/native/index.js';
import { loadVaeDecoder } from '../../../src/runtime/pipeline/vae/load-vae.js';
import { wholeImage } from '../../../src/runtime/pipeline/vae/spatial-ops.js';
import { vaeScaleFactor } from '../../../src/runtime/pipeline/vae/vae-config.js';
import { compareToGolden, type Tolerance } from '../../support/golden-compare.js';
import { pipelineFixture, readPipelineJson } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

interface DecodeCase {
  vae: string;
  case: string;
  file: string;
  z: number[];
  sample: number[];
  tolerance: Tolerance;
}
const manifest = readPipelineJson<{ decodes: DecodeCase[] }>('vae.json');

describe('VAE decode matches Diffusers', () => {
  for (const c of manifest.decodes) {
    it(`${c.vae} ${c.case}: z [${c.z.join(', ')}] → [${c.sample.join(', ')}]`, async () => {
      const decoder = loadVaeDecoder(pipelineFixture(`vae/${c.vae}`));
      expect(vaeScaleFactor(decoder.config)).toBe(8);
      const io = new SafetensorsLite(pipelineFixture(`vae/${c.file}`));
      const sample = await decoder.decode(Tensor.fromArray(io.f32('z'), c.z), wholeImage);
      expect(sample.shape).toEqual(c.sample);
      const result = compareToGolden(
        sample.toFloat32Array(),
        io.f32('sample'),
        c.tolerance,
        `${c.vae}/${c.case}`,
      );
      expect(result.ok, result.message).toBe(true);
    });
  }
});

describe('VAE loading checks', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-vae-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const withConfig = (edit: (c: Record<string, unknown>) => void): string => {
    const dir = join(scratch, Math.random().toString(36).slice(2));
    cpSync(pipelineFixture('vae/vae-4ch'), dir, { recursive: true });
    const path = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(config);
    writeFileSync(path, JSON.stringify(config));
    return dir;
  };

  it('a block list that disagrees with the weights is refused', () => {
    const dir = withConfig((c) => {
      c.block_out_channels = [8, 8, 16];
      c.up_block_types = ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'];
    });
    expect(() => loadVaeDecoder(dir)).toThrow(CheckpointMismatchError);
  });

  it('use_post_quant_conv false on weights that have it names the tensor', () => {
    const dir = withConfig((c) => {
      c.use_post_quant_conv = false;
    });
    expect(() => loadVaeDecoder(dir)).toThrow(/post_quant_conv/);
  });

  it('channels that norm_num_groups does not divide are refused naming the fields', () => {
    const dir = withConfig((c) => {
      c.norm_num_groups = 3;
    });
    expect(() => loadVaeDecoder(dir)).toThrow(CheckpointConfigError);
    expect(() => loadVaeDecoder(dir)).toThrow(/norm_num_groups/);
  });
});
