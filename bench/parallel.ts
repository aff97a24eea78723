/**
 * `npm run bench:parallel`: the step time of the parallel denoiser on this machine, per configuration,
 * for a small Flux config (random weights, generated here): 1 rank, u2, r2 and pp2 — and for SD3 (the
 * tiny sd3-medium fixture, true CFG) 1 rank and cfg2. Each configuration runs as a real local group
 * (the pod launcher, gloo on 127.0.0.1); every rank uses one kernel thread, standing in for one GPU per
 * rank, so the speedup is what the extra ranks buy. Prints the median step time (first step excluded),
 * the speedup over 1 rank, and the share of the loop a rank spends waiting on communication (for pp2 this
 * includes the pipeline's fill and drain). Prints the CPU, the kernels chosen, the measured GEMM ceiling
 * (1 thread: what one rank has) and the load average first. The ranks' JSON logs go to a folder (named
 * if a group fails) and this process's to TESSERA_LOG_FILE, so nothing lands between the table rows.
 *
 * Options (env): BENCH_STEPS (default 8).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type TinyFluxShape,
  writeTinyFlux,
  writeTinyFluxInputs,
} from '../src/runtime/launcher/demo/tiny-checkpoint.js';
import { runLocalGroup } from '../src/runtime/launcher/local-group.js';
import type { RankStats } from '../src/runtime/parallel-denoise/stats.js';
import { logForPerson } from '../src/shared/log.js';
import type { Degrees } from '../src/shared/plan/index.js';
import { SD3_TXT7, writeInputs } from '../test/runtime/parallel/denoise-fixtures.js';
import { describeMachine, loadLine } from './support/machine.js';

logForPerson();
const steps = Number(process.env.BENCH_STEPS ?? 8);
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-parallel-'));

const flux: TinyFluxShape = {
  heads: 8,
  headDim: 32,
  doubleBlocks: 2,
  singleBlocks: 4,
  inChannels: 16,
  jointAttentionDim: 64,
  pooledProjectionDim: 64,
  axesDimsRope: [8, 12, 12],
};

const degrees = (d: Partial<Degrees>): Degrees => ({
  dataParallel: 1,
  cfg: 1,
  pipefusion: 1,
  ring: 1,
  ulysses: 1,
  ...d,
});

interface Config {
  name: string;
  degrees: Degrees;
}

interface Measured {
  stepMs: number;
  commShare: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function measure(model: string, inputs: string, guidance: number, c: Config): Promise<Measured> {
  const stats = mkdtempSync(join(dir, 'stats-'));
  const output = join(dir, 'out.safetensors');
  const logDir = mkdtempSync(join(dir, 'logs-'));
  process.env.TESSERA_NUM_THREADS = '1';
  const { code, failure } = await runLocalGroup({
    logDir,
    degrees: c.degrees,
    pipeline: { patches: c.degrees.pipefusion, warmupSteps: 1 },
    modelPath: model,
    workerArgs: [
      '--inputs',
      inputs,
      '--steps',
      String(steps),
      '--guidance-scale',
      String(guidance),
      '-o',
      output,
      '--stats-dir',
      stats,
    ],
  });
  // The folder is removed at exit: the reason is in the message.
  if (code !== 0) throw new Error(`${c.name}: the group failed: ${failure ?? `exit code ${code}`}`);
  const ranks = readdirSync(stats).map((f) => JSON.parse(readFileSync(join(stats, f), 'utf8')) as RankStats);
  // Ranks step in lockstep; a step takes as long as its slowest rank.
  const perStep = Array.from({ length: steps }, (_, i) => Math.max(...ranks.map((r) => r.stepMs[i] ?? 0)));
  const shares = ranks.map((r) => r.commMs / r.totalMs);
  return { stepMs: median(perStep.slice(1)), commShare: shares.reduce((a, b) => a + b, 0) / shares.length };
}

async function table(title: string, model: string, inputs: string, guidance: number, configs: Config[]) {
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(
    `${'config'.padEnd(8)} ${'ranks'.padStart(5)} ${'step ms'.padStart(9)} ${'speedup'.padStart(8)} ${'comm share'.padStart(11)}\n`,
  );
  let base = Number.NaN;
  for (const c of configs) {
    const m = await measure(model, inputs, guidance, c);
    if (Number.isNaN(base)) base = m.stepMs;
    const ranks = Object.values(c.degrees).reduce((a, b) => a * b, 1);
    process.stdout.write(
      `${c.name.padEnd(8)} ${String(ranks).padStart(5)} ${m.stepMs.toFixed(1).padStart(9)} ${(base / m.stepMs).toFixed(2).padStart(7)}× ${(100 * m.commShare).toFixed(1).padStart(10)}%\n`,
    );
  }
}

try {
  process.stdout.write(`bench:parallel — ${steps} steps, 1 kernel thread per rank, gloo over 127.0.0.1\n`);
  for (const line of describeMachine([1]).lines) process.stdout.write(`${line}\n`);
  const model = writeTinyFlux(join(dir, 'flux'), flux);
  const inputs = join(dir, 'flux-inputs.safetensors');
  writeTinyFluxInputs(inputs, flux, { height: 64, width: 64, textTokens: 32 });
  await table(
    `Flux (random weights): ${flux.doubleBlocks} double + ${flux.singleBlocks} single blocks, ${flux.heads} heads × ${flux.headDim}, 1,024 image + 32 text tokens`,
    model,
    inputs,
    3.5,
    [
      { name: '1 rank', degrees: degrees({}) },
      { name: 'u2', degrees: degrees({ ulysses: 2 }) },
      { name: 'r2', degrees: degrees({ ring: 2 }) },
      { name: 'pp2', degrees: degrees({ pipefusion: 2 }) },
    ],
  );
  const sd3 = join(root, 'test/fixtures/reference/sd3-medium/checkpoint');
  const sd3Inputs = writeInputs(SD3_TXT7, dir, 1);
  await table('SD3 (tiny sd3-medium fixture, 64 image + 7 text tokens, CFG scale 5)', sd3, sd3Inputs, 5, [
    { name: '1 rank', degrees: degrees({}) },
    { name: 'cfg2', degrees: degrees({ cfg: 2 }) },
  ]);
  process.stdout.write(`\n${loadLine()} (after)\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
