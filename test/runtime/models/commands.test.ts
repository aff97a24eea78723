/**
 * `tessera run-transformer` and `tessera denoise` end to end: flags → files → the same numbers as the
 * Diffusers goldens; bad input → exit 1 with a message naming what is wrong.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/command.js';
import { denoiseCommand } from '../../../src/cli/commands/denoise.js';
import { runTransformerCommand } from '../../../src/cli/commands/run-transformer.js';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { packLatents } from '../../../src/runtime/models/flux/packing.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { runCommand } from '../../support/command-run.js';
import { checkpointDir, maxRelativeError, REFERENCE_DIR, referenceCheckpoints } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-commands-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const checkpoint = (name: string) => {
  const c = referenceCheckpoints().find((x) => x.name === name);
  if (!c) throw new Error(`no fixture ${name}`);
  return c;
};

const run = runCommand;

describe('tessera run-transformer', () => {
  it('writes `sample` equal to Diffusers for an SD3 batch-2 case', async () => {
    const c = checkpoint('sd3-medium');
    const reference = c.cases.find((x) => x.case === 'square-txt8-b2');
    if (!reference) throw new Error('fixture case missing');
    const fixture = NamedTensors.read(join(REFERENCE_DIR, reference.file));
    const inputs = join(work, 'sd3-in.safetensors');
    const names = ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep'];
    writeSafetensors(inputs, new Map(names.map((n) => [n, fixture.required(n, '')])));
    const out = join(work, 'sd3-out.safetensors');
    const { code, stderr } = await run(runTransformerCommand, [
      '--model',
      checkpointDir(c),
      '--inputs',
      inputs,
      '-o',
      out,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const written = NamedTensors.read(out);
    expect(written.names()).toEqual(['sample']);
    expect(maxRelativeError(written.required('sample', ''), fixture.required('sample', ''))).toBeLessThan(
      1e-4,
    );
  });

  it('exits 1 naming a missing input and the checkpoint field that needs it', async () => {
    const c = checkpoint('flux-dev');
    const reference = c.cases.find((x) => x.kind === 'forward');
    if (!reference) throw new Error('fixture case missing');
    const fixture = NamedTensors.read(join(REFERENCE_DIR, reference.file));
    const inputs = join(work, 'flux-no-guidance.safetensors');
    const names = [
      'hidden_states',
      'encoder_hidden_states',
      'pooled_projections',
      'timestep',
      'img_ids',
      'txt_ids',
    ];
    writeSafetensors(inputs, new Map(names.map((n) => [n, fixture.required(n, '')])));
    const { code, stderr } = await run(runTransformerCommand, [
      '--model',
      checkpointDir(c),
      '--inputs',
      inputs,
      '-o',
      join(work, 'never.safetensors'),
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no tensor "guidance".*guidance_embeds = true/);
  });

  it('exits 1 naming a checkpoint that does not exist', async () => {
    const { code, stderr } = await run(runTransformerCommand, [
      '--model',
      join(work, 'nowhere'),
      '--inputs',
      'x',
      '-o',
      'y',
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/model_index\.json/);
  });

  it('rejects missing flags as a usage error', async () => {
    await expect(runTransformerCommand.run(['--model', 'm'])).rejects.toThrow(UsageError);
  });
});

describe('tessera denoise', () => {
  it('Flux-dev from unpacked noise: writes unpacked latents equal to the pipeline after 4 steps', async () => {
    const c = checkpoint('flux-dev');
    const reference = c.cases.find((x) => x.kind === 'denoise');
    if (!reference) throw new Error('fixture case missing');
    const fixture = NamedTensors.read(join(REFERENCE_DIR, reference.file));
    const inputs = join(work, 'flux-denoise-in.safetensors');
    writeSafetensors(
      inputs,
      new Map([
        ['latents', fixture.required('latents_unpacked', '')],
        ['prompt_embeds', fixture.required('prompt_embeds', '')],
        ['pooled_prompt_embeds', fixture.required('pooled_prompt_embeds', '')],
      ]),
    );
    const out = join(work, 'flux-denoise-out.safetensors');
    const argv = [
      '--model',
      checkpointDir(c),
      '--inputs',
      inputs,
      '--steps',
      '4',
      '--guidance-scale',
      '3.5',
      '-o',
      out,
    ];
    const { code, stderr } = await run(denoiseCommand, argv);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const latents = NamedTensors.read(out).required('latents', 'the command output');
    expect(latents.shape).toEqual(fixture.required('latents_unpacked', '').shape);
    expect(maxRelativeError(packLatents(latents), fixture.required('output_latents', ''))).toBeLessThan(1e-3);
  });

  it('SD3 with CFG from the fixture file as is (extra golden tensors are ignored)', async () => {
    const c = checkpoint('sd3-medium');
    const reference = c.cases.find((x) => x.kind === 'denoise');
    if (!reference) throw new Error('fixture case missing');
    const out = join(work, 'sd3-denoise-out.safetensors');
    const argv = [
      '--model',
      checkpointDir(c),
      '--inputs',
      join(REFERENCE_DIR, reference.file),
      '--steps',
      String(reference.steps),
      '--guidance-scale',
      String(reference.guidance_scale),
      '-o',
      out,
    ];
    const { code } = await run(denoiseCommand, argv);
    expect(code).toBe(0);
    const golden = NamedTensors.read(join(REFERENCE_DIR, reference.file)).required('output_latents', '');
    expect(maxRelativeError(NamedTensors.read(out).required('latents', ''), golden)).toBeLessThan(1e-3);
  });

  it('SD3 CFG without negative embeddings exits 1 saying which tensors to add', async () => {
    const c = checkpoint('sd3-medium');
    const reference = c.cases.find((x) => x.kind === 'denoise');
    if (!reference) throw new Error('fixture case missing');
    const fixture = NamedTensors.read(join(REFERENCE_DIR, reference.file));
    const inputs = join(work, 'sd3-no-negative.safetensors');
    const names = ['latents', 'prompt_embeds', 'pooled_prompt_embeds'];
    writeSafetensors(inputs, new Map(names.map((n) => [n, fixture.required(n, '')])));
    const argv = [
      '--model',
      checkpointDir(c),
      '--inputs',
      inputs,
      '--steps',
      '2',
      '-o',
      join(work, 'never.safetensors'),
    ];
    const { code, stderr } = await run(denoiseCommand, argv);
    expect(code).toBe(1);
    expect(stderr).toMatch(/negative_prompt_embeds and negative_pooled_prompt_embeds/);
  });

  it('rejects a non-integer step count as a usage error', async () => {
    await expect(
      denoiseCommand.run(['--model', 'm', '--inputs', 'i', '-o', 'o', '--steps', '2.5']),
    ).rejects.toThrow(/--steps must be a positive integer/);
  });
});
