/**
 * Inputs files and one-process references for the parallel denoise tests, built from the committed tiny
 * checkpoints and their denoise cases (test/fixtures/reference). A batch-2 variant (the case's prompt
 * plus a second, different one) exercises data parallel.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { denoiseInputs } from '../../../src/runtime/denoise/input-files.js';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { ops, type Tensor } from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { readSchedulerConfig } from '../../../src/runtime/scheduler/scheduler.js';
import type { ModelFacts } from '../../../src/shared/plan/index.js';

export const REFERENCE_DIR = resolve(import.meta.dirname, '../../fixtures/reference');
export const CLI = resolve(import.meta.dirname, '../../../src/cli/main.ts');

export interface FixtureCase {
  name: string;
  checkpoint: string;
  file: string;
  steps: number;
  guidanceScale: number;
}

export const FLUX_TXT7: FixtureCase = {
  name: 'flux-dev txt7',
  checkpoint: 'flux-dev/checkpoint',
  file: 'flux-dev/denoise-nonsquare-txt7.safetensors',
  steps: 4,
  guidanceScale: 3.5,
};
export const FLUX_TXT8: FixtureCase = {
  name: 'flux-schnell txt8',
  checkpoint: 'flux-schnell/checkpoint',
  file: 'flux-schnell/denoise-square-txt8.safetensors',
  steps: 4,
  guidanceScale: 0,
};
export const SD3_TXT7: FixtureCase = {
  name: 'sd3-medium txt7 cfg',
  checkpoint: 'sd3-medium/checkpoint',
  file: 'sd3-medium/denoise-square-txt7-cfg.safetensors',
  steps: 4,
  guidanceScale: 5,
};
export const SD35_TXT8: FixtureCase = {
  name: 'sd3.5-medium txt8 cfg',
  checkpoint: 'sd35-medium/checkpoint',
  file: 'sd35-medium/denoise-nonsquare-txt8-cfg.safetensors',
  steps: 4,
  guidanceScale: 5,
};

export const modelDir = (c: FixtureCase): string => join(REFERENCE_DIR, c.checkpoint);

/** What a plan says about the flux-dev fixture (heads and text tokens as its checkpoint and cases). */
export const FLUX_FIXTURE_FACTS: ModelFacts = {
  family: 'flux',
  layers: 4,
  heads: 4,
  headDim: 8,
  patchSize: 2,
  vaeScaleFactor: 8,
  textTokens: 7,
  usesCfg: false,
  parameters: 0,
};

const FLUX_FIELDS = ['latents_unpacked', 'prompt_embeds', 'pooled_prompt_embeds'];
const SD3_FIELDS = [
  'latents',
  'prompt_embeds',
  'pooled_prompt_embeds',
  'negative_prompt_embeds',
  'negative_pooled_prompt_embeds',
];

/** Writes the case's inputs (batch 1, or batch 2 with a second prompt) and returns the path. */
export function writeInputs(c: FixtureCase, dir: string, batch: 1 | 2): string {
  const file = NamedTensors.read(join(REFERENCE_DIR, c.file));
  const flux = c.checkpoint.startsWith('flux');
  const tensors = new Map<string, Tensor>();
  for (const field of flux ? FLUX_FIELDS : SD3_FIELDS) {
    const t = file.required(field, 'fixture input');
    // The second prompt: different noise and embeddings, so a mixed-up replica would show.
    const value = batch === 1 ? t : ops.concat([t, ops.affine(t, -0.75, 0.1)], 0);
    tensors.set(field === 'latents_unpacked' ? 'latents' : field, value);
  }
  const path = join(dir, `${c.checkpoint.split('/')[0]}-b${batch}.safetensors`);
  writeSafetensors(path, tensors);
  return path;
}

/** The one-process denoiser's result for an inputs file, in the layout the CLI writes. */
export async function oneProcessResult(c: FixtureCase, inputsPath: string): Promise<Tensor> {
  const loaded = loadTransformer(modelDir(c));
  const { inputs, finish } = denoiseInputs(loaded, NamedTensors.read(inputsPath));
  const result = await denoise(loaded, inputs, {
    steps: c.steps,
    guidanceScale: c.guidanceScale,
    scheduler: readSchedulerConfig(modelDir(c)),
  });
  return finish(result.latents);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `tessera <args>` from the sources and resolves with its exit code (never rejects). */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, TESSERA_LOG_LEVEL: 'warn', ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
      },
    );
  });
}

export interface CliDenoise {
  model: string;
  inputs: string;
  steps: number;
  guidanceScale: number;
  /** Degree flags (--ulysses 2, …). */
  flags: readonly string[];
  /** Where the output file goes. */
  dir: string;
}

/** `tessera denoise` as a person runs it: the latents it wrote; throws with its stderr when it fails. */
export async function denoiseWithCli(run: CliDenoise): Promise<Tensor> {
  const output = join(run.dir, `out-${Math.random().toString(36).slice(2)}.safetensors`);
  const { model, inputs, steps, guidanceScale, flags } = run;
  const args = [
    '--model',
    model,
    '--inputs',
    inputs,
    '--steps',
    String(steps),
    '--guidance-scale',
    String(guidanceScale),
  ];
  const done = await runCli(['denoise', ...args, '-o', output, ...flags]);
  if (done.code !== 0)
    throw new Error(`tessera denoise ${flags.join(' ')} exited ${done.code}:\n${done.stderr}`);
  return NamedTensors.read(output).required('latents', 'result');
}
