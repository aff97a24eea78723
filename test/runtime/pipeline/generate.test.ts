/**
 * `tessera generate` end to end, prompt to PNG: for every committed Diffusers pipeline case (FLUX.1-dev,
 * SD3, PixArt-Σ; tools/reference/pipeline_fixtures.py) the PNG it writes opens, has the requested size and
 * the request in its text chunks, and its pixels equal the Diffusers pipeline's uint8 image within one
 * level on at least 99.9 % of the values. Bad flags exit with a message naming the flag.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/command.js';
import { generateCommand } from '../../../src/cli/commands/generate.js';
import { readPngText } from '../../../src/runtime/pipeline/image/png.js';
import { runCommand } from '../../support/command-run.js';
import { pixelAgreement } from '../../support/image-compare.js';
import { pipelineCases, pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

const cases = pipelineCases();

const work = mkdtempSync(join(tmpdir(), 'tessera-generate-test-'));
process.env.TESSERA_LOG_FILE = join(work, 'generate.log');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('tessera generate matches the Diffusers pipelines', () => {
  for (const c of cases) {
    it(`${c.pipeline} ${c.case}: "${c.prompt}"`, async () => {
      const output = join(work, `${c.pipeline}-${c.case}.png`);
      const args = [
        '--model',
        pipelineFixture(`pipelines/${c.pipeline}`),
        '--prompt',
        c.prompt,
        ...(c.negative_prompt !== null ? ['--negative-prompt', c.negative_prompt] : []),
        '--size',
        `${c.width}x${c.height}`,
        '--steps',
        String(c.steps),
        '--guidance-scale',
        String(c.guidance_scale),
        '--seed',
        String(c.seed),
        '-o',
        output,
      ];
      const { code, stderr } = await runCommand(generateCommand, args);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const png = readFileSync(output);
      const image = decode(png);
      expect([image.width, image.height, image.channels, image.depth]).toEqual([c.width, c.height, 3, 8]);
      expect(readPngText(png)).toMatchObject({
        prompt: c.prompt,
        seed: String(c.seed),
        steps: String(c.steps),
        guidance: String(c.guidance_scale),
        size: `${c.width}x${c.height}`,
        model: c.pipeline,
      });
      const golden = new SafetensorsLite(pipelineFixture(`pipelines/${c.file}`)).f32('image');
      const agreement = pixelAgreement(image.data, golden);
      process.stdout.write(`${c.pipeline} ${c.case}: ${JSON.stringify(agreement)}\n`);
      expect(agreement.share, JSON.stringify(agreement)).toBeGreaterThanOrEqual(0.999);
    });
  }
});

describe('tessera generate refuses bad flags, naming them', () => {
  const model = pipelineFixture('pipelines/sd3');
  const out = join(work, 'refused.png');
  const cases: Array<[string, string[], RegExp]> = [
    ['no prompt', ['--model', model, '-o', out], /--prompt is required/],
    [
      'a size that is not WxH',
      ['--model', model, '--prompt', 'x', '--size', '64', '-o', out],
      /--size must be WIDTHxHEIGHT/,
    ],
    [
      'a size the VAE cannot make',
      ['--model', model, '--prompt', 'x', '--size', '60x64', '-o', out],
      /size: width 60 must be a multiple of 16/,
    ],
    [
      'an empty prompt',
      ['--model', model, '--prompt', ' ', '-o', out],
      /prompt: prompt must be a non-empty string/,
    ],
    [
      'steps that are not a number',
      ['--model', model, '--prompt', 'x', '--steps', 'many', '-o', out],
      /--steps must be a number/,
    ],
    ['a negative seed', ['--model', model, '--prompt', 'x', '--seed=-1', '-o', out], /seed:/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      await expect(runCommand(generateCommand, args)).rejects.toThrow(UsageError);
      await expect(runCommand(generateCommand, args)).rejects.toThrow(message);
    });
  }

  it('a model folder that is not a pipeline exits 1 naming the file', async () => {
    const { code, stderr } = await runCommand(generateCommand, ['--model', work, '--prompt', 'x', '-o', out]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/model_index\.json/);
  });
});
