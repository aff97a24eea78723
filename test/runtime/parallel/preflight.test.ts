/**
 * `tessera denoise` checks the guidance, the inputs' shapes and the parallel degrees against the
 * checkpoint before any worker starts, and prints one line naming every problem; a group that fails once
 * running prints one readable line too, with the ranks' logs left in a folder instead of on the terminal.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { denoiseCommand } from '../../../src/cli/commands/denoise.js';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { ops, Tensor } from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { runCommand } from '../../support/command-run.js';
import { SafetensorsLite, writeSafetensors as writeLite } from '../../support/safetensors-lite.js';
import { FLUX_TXT7, modelDir, runCli, SD3_TXT7, writeInputs } from './denoise-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-preflight-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `tessera denoise` in this process, stderr captured (a group it started would write elsewhere). */
const denoiseHere = (argv: string[]) => runCommand(denoiseCommand, argv);

const out = join(work, 'never.safetensors');
const fluxInputs = writeInputs(FLUX_TXT7, work, 1);
const sd3Inputs = writeInputs(SD3_TXT7, work, 1);

function withTensor(source: string, name: string, tensor: Tensor, path: string): string {
  const named = NamedTensors.read(source);
  writeSafetensors(
    path,
    new Map([...named.names().map((n) => [n, named.required(n, '')] as const), [name, tensor]]),
  );
  return path;
}

describe('tessera denoise pre-flight', () => {
  it('names rows that do not divide by ulysses × ring, in one line, with no group started', async () => {
    const { code, stderr } = await denoiseHere([
      ...['--model', modelDir(FLUX_TXT7), '--inputs', fluxInputs, '--steps', '2', '-o', out],
      ...['--ring', '3'],
    ]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'tessera denoise: the request cannot run: the plan does not fit the request: ulysses × ring = 3 does not ' +
        'divide the 4 rows of image tokens (latent height / patch)\n',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('names CFG parallel without guidance, and every other problem of the request at once', async () => {
    const prompt = NamedTensors.read(sd3Inputs).required('prompt_embeds', '');
    const wide = ops.concat([prompt, prompt], 2);
    const wrongPrompt = withTensor(sd3Inputs, 'prompt_embeds', wide, join(work, 'sd3-wide.safetensors'));
    const { code, stderr } = await denoiseHere([
      ...['--model', modelDir(SD3_TXT7), '--inputs', wrongPrompt, '--steps', '2', '-o', out],
      ...['--cfg-parallel', '--guidance-scale', '1'],
    ]);
    expect(code).toBe(1);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(stderr).toContain(
      'prompt_embeds is [1, 7, 48], expected [1, 7, 24] (batch of latents; joint_attention_dim)',
    );
    expect(stderr).toContain('degrees.cfg = 2 needs classifier-free guidance');
  });

  it('names an input holding NaN or Infinity, before any worker starts', async () => {
    const latents = NamedTensors.read(fluxInputs).required('latents', '');
    const values = latents.toFloat32Array();
    values[5] = Number.NaN;
    values[9] = Number.POSITIVE_INFINITY;
    const nan = withTensor(
      fluxInputs,
      'latents',
      Tensor.fromArray(values, [...latents.shape]),
      join(work, 'nan.st'),
    );
    const { code, stderr } = await denoiseHere([
      ...['--model', modelDir(FLUX_TXT7), '--inputs', nan, '--steps', '2', '-o', out],
    ]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'tessera denoise: the request cannot run: latents element 5 is NaN: every input value must be finite\n',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a guidance scale above 100 as a usage error', async () => {
    await expect(
      denoiseCommand.run([
        '--model',
        'm',
        '--inputs',
        'i',
        '-o',
        'o',
        '--steps',
        '2',
        '--guidance-scale',
        '1e308',
      ]),
    ).rejects.toThrow(/--guidance-scale must be a number from 0 to 100, got 1e308/);
  });
});

describe('a group that fails after it started', () => {
  it('prints one readable line naming the failure and where the logs are, not every rank JSON', async () => {
    // A NaN weight passes the pre-flight (it reads no weights) and fails every rank at load.
    const model = join(work, 'nan-model');
    cpSync(modelDir(FLUX_TXT7), model, { recursive: true });
    const file = join(model, 'transformer', 'diffusion_pytorch_model.safetensors');
    const lite = new SafetensorsLite(file);
    writeLite(
      file,
      lite.names().map((name) => {
        const bytes = lite.bytesOf(name);
        if (name === 'x_embedder.weight') bytes.writeFloatLE(Number.NaN, 0);
        return { name, dtype: lite.dtype(name), shape: lite.shape(name), bytes };
      }),
    );
    const run = await runCli(
      ['denoise', '--model', model, '--inputs', fluxInputs, '--steps', '2', '-o', out, '--ulysses', '2'],
      { TESSERA_CHECK_WEIGHTS: 'finite', TESSERA_LOG_LEVEL: 'info' },
    );
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(
      /^tessera denoise: the group failed: rank \d: tensor "x_embedder\.weight" in .*: element 0 is NaN/,
    );
    const logs = /logs in (\S+)\)$/.exec(lines[0] ?? '')?.[1];
    expect(lines).toHaveLength(1);
    expect(run.stdout).toBe('');
    expect(logs && readdirSync(logs).sort()).toEqual(['launcher.log', 'rank-0.log', 'rank-1.log']);
    if (logs) rmSync(logs, { recursive: true, force: true });
  }, 180_000);
});
