/**
 * The committed denoise goldens run through the one denoise loop on a chosen device (the CUDA emulation
 * here, a GPU in test/gpu), and through `tessera denoise` as a 2-rank group sharing one GPU: what the
 * device tests compare with the golden and the CPU, and the host↔device copies of each step.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { denoise } from '../../src/runtime/denoise/index.js';
import { denoiseInputs } from '../../src/runtime/denoise/input-files.js';
import { loadTransformer, NamedTensors } from '../../src/runtime/model-loader/index.js';
import { packLatents } from '../../src/runtime/models/flux/packing.js';
import type { Device, Tensor, TransferCounts } from '../../src/runtime/native/index.js';
import { writeSafetensors } from '../../src/runtime/native/safetensors-writer.js';
import { readSchedulerConfig } from '../../src/runtime/scheduler/scheduler.js';
import { runCli } from '../runtime/parallel/denoise-fixtures.js';
import { pipelineFixture, readPipelineJson } from './pipeline-fixtures.js';
import { checkpointDir, REFERENCE_DIR, referenceCheckpoint } from './reference-fixtures.js';

/** Flux's denoise case (guidance embedded) and SD3's CFG case (two branches batched). */
export const DEVICE_CASES = [
  { checkpoint: 'flux-dev', case: 'nonsquare-txt7' },
  { checkpoint: 'sd3-medium', case: 'square-txt7-cfg' },
] as const;

export interface DeviceDenoise {
  /** Final latents in the transformer's layout (as the golden's output_latents), on the host. */
  latents: Tensor;
  golden: Tensor;
  /** The host↔device copies of each step. */
  copies: TransferCounts[];
  steps: number;
}

export async function denoiseOn(
  which: (typeof DEVICE_CASES)[number],
  device: Device,
  weightDtype: 'f32' | 'bf16' = 'f32',
): Promise<DeviceDenoise> {
  const checkpoint = referenceCheckpoint(which.checkpoint);
  const reference = checkpoint.cases.find((c) => c.kind === 'denoise' && c.case === which.case);
  if (!reference) throw new Error(`${which.checkpoint} has no denoise case ${which.case}`);
  const folder = checkpointDir(which.checkpoint);
  const file = NamedTensors.read(join(REFERENCE_DIR, reference.file));
  const named = goldenDenoiseInputs(checkpoint.family, file, reference.file);
  return denoiseCountingCopies(folder, named, file.required('output_latents', 'the golden'), {
    device,
    weightDtype,
    steps: reference.steps ?? Number.NaN,
    guidanceScale: reference.guidance_scale ?? Number.NaN,
  });
}

/**
 * Loads `folder`'s transformer on `device`, runs the one denoise loop on `named` inputs and records each
 * step's host↔device copies; the weights are released however the run ends.
 */
async function denoiseCountingCopies(
  folder: string,
  named: NamedTensors,
  golden: Tensor,
  run: { device: Device; weightDtype: 'f32' | 'bf16'; steps: number; guidanceScale: number },
): Promise<DeviceDenoise> {
  const loaded = loadTransformer(folder, { device: run.device, weightDtype: run.weightDtype });
  try {
    const { inputs } = denoiseInputs(loaded, named);
    const copies: TransferCounts[] = [];
    const result = await denoise(loaded, inputs, {
      steps: run.steps,
      guidanceScale: run.guidanceScale,
      scheduler: readSchedulerConfig(folder),
      onStep: (s) => copies.push(s.copies),
    });
    return { latents: result.latents, golden, copies, steps: run.steps };
  } finally {
    loaded.weights.release();
  }
}

/**
 * PixArt-Σ's denoise golden (pipeline fixtures: 4 steps of DPM-Solver++ with classifier-free guidance and
 * a padded caption) through the one denoise loop on `device`.
 */
export async function pixartDenoiseOn(
  device: Device,
  weightDtype: 'f32' | 'bf16' = 'f32',
): Promise<DeviceDenoise> {
  const {
    file,
    steps,
    guidance_scale: guidanceScale,
  } = readPipelineJson<{
    pixart_transformer: { denoise: { file: string; steps: number; guidance_scale: number } };
  }>('pipelines.json').pixart_transformer.denoise;
  const folder = pipelineFixture('pipelines/pixart-sigma');
  const named = NamedTensors.read(pipelineFixture(`pipelines/${file}`));
  return denoiseCountingCopies(
    folder,
    named.without(['output_latents']),
    named.required('output_latents', 'the golden'),
    { device, weightDtype, steps, guidanceScale },
  );
}

/** A PipeFusion group's result and, per rank, each step's host↔device copies (its stats file). */
export interface GroupRun {
  latents: Tensor;
  copies: TransferCounts[][];
}

/**
 * `tessera denoise` of PixArt-Σ's denoise golden as a PipeFusion group of 2 stages on `device` (both ranks
 * on GPU 0 for 'cuda:0', gloo staging the messages through the host; one GPU each for 'cuda', over NCCL)
 * with 2 patches and 1 warm-up step of 4: the stale-patch path, where DPM-Solver++'s whole-image history
 * is cut into per-band histories (on the device when the latents are there). The result, or the CLI's
 * failure.
 */
export async function pixartPipeFusionOn(
  device: 'cpu' | 'cuda:0' | 'cuda',
  env: Record<string, string>,
): Promise<GroupRun | { failed: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pixart-pipefusion-'));
  try {
    const output = join(dir, 'out.safetensors');
    const args = ['denoise', '--model', pipelineFixture('pipelines/pixart-sigma')];
    args.push('--inputs', pipelineFixture('pipelines/pixart-denoise.safetensors'), '--steps', '4');
    args.push(
      '--guidance-scale',
      '4.5',
      '--pipefusion',
      '2',
      '--warmup-steps',
      '1',
      '--pipeline-patches',
      '2',
    );
    const r = await runCli([...args, '--device', device, '-o', output], { ...env, TESSERA_STATS_DIR: dir });
    if (r.code !== 0) return { failed: `exit ${r.code}: ${r.stderr}` };
    return {
      latents: NamedTensors.read(output).required('latents', 'the result'),
      copies: rankCopies(dir, 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `tessera denoise` of Flux's denoise golden as a PipeFusion group of 2 stages sharing GPU 0 (gloo, device
 * tensors staged through the host) with bf16 weights (TESSERA_MODEL_DTYPE=bf16) and every step a warm-up
 * step (so the one-process computation), against the one denoise loop in this process with bf16 weights
 * on 'cuda'. The stage message carries the state in bf16 and the rotary tables in f32, so the second stage
 * computes in bf16 as the one process does: equal up to the GEMMs' summation order. A stage state sent in
 * f32 would make the second stage compute in f32 and differ by bf16's rounding.
 */
export async function sharedGpuPipeFusionBf16(
  env: Record<string, string>,
): Promise<{ error: number } | { failed: string }> {
  const which = DEVICE_CASES[0];
  const one = await denoiseOn(which, 'cuda', 'bf16');
  const checkpoint = referenceCheckpoint(which.checkpoint);
  const reference = checkpoint.cases.find((c) => c.kind === 'denoise' && c.case === which.case);
  if (!reference) throw new Error(`${which.checkpoint} has no denoise case ${which.case}`);
  const golden = NamedTensors.read(join(REFERENCE_DIR, reference.file));
  const named = goldenDenoiseInputs(checkpoint.family, golden, reference.file);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-pipefusion-'));
  try {
    const inputs = join(dir, 'inputs.safetensors');
    writeSafetensors(inputs, new Map(named.names().map((n) => [n, named.required(n, '')])));
    const output = join(dir, 'out.safetensors');
    const args = ['denoise', '--model', checkpointDir(which.checkpoint), '--inputs', inputs];
    args.push('--steps', String(reference.steps), '--guidance-scale', String(reference.guidance_scale));
    args.push('--pipefusion', '2', '--warmup-steps', String(reference.steps), '--device', 'cuda:0');
    const r = await runCli([...args, '-o', output], { ...env, TESSERA_MODEL_DTYPE: 'bf16' });
    if (r.code !== 0) return { failed: `exit ${r.code}: ${r.stderr}` };
    const actual = NamedTensors.read(output).required('latents', 'the result');
    // The CLI writes Flux's result unpacked, as its inputs came; the loop's is packed.
    return { error: relativeError(packLatents(actual), one.latents) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The inputs of a denoise golden as `tessera denoise` reads them: Flux goldens hold packed latents
 * without ids, so a run starts from the unpacked noise, as the CLI allows.
 */
export function goldenDenoiseInputs(family: string, file: NamedTensors, label: string): NamedTensors {
  if (family !== 'flux') return file;
  return NamedTensors.of(
    new Map([
      ['latents', file.required('latents_unpacked', 'the unpacked noise')],
      ['prompt_embeds', file.required('prompt_embeds', '')],
      ['pooled_prompt_embeds', file.required('pooled_prompt_embeds', '')],
    ]),
    label,
  );
}

/** max|a − b| / max|b| over two tensors read to the host. */
export function relativeError(actual: Tensor, expected: Tensor): number {
  const a = actual.toFloat32Array();
  const b = expected.toFloat32Array();
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  b.forEach((e, i) => {
    const d = Math.abs((a[i] as number) - e);
    diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(e));
  });
  return diff / scale;
}

/**
 * `tessera denoise` of SD3's CFG golden as a 2-rank Ulysses group with both ranks on GPU 0 (gloo, device
 * tensors staged through the host), under `env`: its relative error to the golden, or the CLI's failure.
 */
export async function sharedGpuGroup(
  env: Record<string, string>,
): Promise<{ error: number } | { failed: string }> {
  const r = await sd3GroupOn(['--ulysses', '2'], 'cuda:0', env);
  return 'failed' in r ? r : { error: r.error };
}

/**
 * `tessera denoise` of SD3's CFG golden (4 steps, scale 5) as a 2-rank group (`flags`) on `device`
 * ('cuda:0': both ranks on GPU 0, gloo; 'cuda': a GPU each, NCCL), under `env`: the result's relative
 * error to the golden and each rank's per-step copies, or the CLI's failure.
 */
export async function sd3GroupOn(
  flags: string[],
  device: 'cuda' | 'cuda:0',
  env: Record<string, string>,
): Promise<{ error: number; copies: TransferCounts[][] } | { failed: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-group-'));
  try {
    const golden = join(REFERENCE_DIR, 'sd3-medium', 'denoise-square-txt7-cfg.safetensors');
    const output = join(dir, 'out.safetensors');
    const args = ['denoise', '--model', checkpointDir('sd3-medium'), '--inputs', golden];
    args.push('--steps', '4', '--guidance-scale', '5', ...flags, '--device', device, '-o', output);
    const r = await runCli(args, { ...env, TESSERA_STATS_DIR: dir });
    if (r.code !== 0) return { failed: `exit ${r.code}: ${r.stderr}` };
    const actual = NamedTensors.read(output).required('latents', 'the result');
    const expected = NamedTensors.read(golden).required('output_latents', 'the golden');
    return { error: relativeError(actual, expected), copies: rankCopies(dir, 2) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each rank's per-step copies, from the stats files `TESSERA_STATS_DIR` collected. */
function rankCopies(dir: string, ranks: number): TransferCounts[][] {
  return Array.from(
    { length: ranks },
    (_, rank) =>
      (JSON.parse(readFileSync(join(dir, `rank-${rank}.json`), 'utf8')) as { stepCopies: TransferCounts[] })
        .stepCopies,
  );
}
