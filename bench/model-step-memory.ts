/**
 * `npm run bench:model-memory`: the peak resident memory (VmHWM) of a fresh process that loads a Flux
 * checkpoint with the model loader and runs one denoising step, for the same weights stored in f32 and in
 * bf16. The bf16 checkpoint runs twice: as the loader holds it by default (weight matrices stay bf16,
 * widened while the GEMM packs them) and converted to f32 at load (weightDtype 'f32', what the CPU
 * path did before). A process that only loads the addon gives the fixed part of the footprint.
 *
 * Two checkpoints:
 * - bench:model's (4 double + 8 single blocks of width 512, 1,024 image + 128 text tokens, ~71 M
 *   parameters), written to a temporary folder. Its step's activations are a quarter of its bf16 weights,
 *   ten times FLUX.1's share, so it shows the activations' part.
 * - FLUX.1 width (1 double + 2 single blocks of FLUX.1's width: 24 heads × 128, T5 4096, CLIP 768; 256
 *   image + 32 text tokens, ~686 M parameters, 2.7 GB in f32), written once into .cache/bench-checkpoints.
 *   Weights dominate as in FLUX.1-dev: a step's activations scale with tokens × width, the weights with
 *   blocks × width², so at the same width the share is set by tokens per block. FLUX.1-dev at 1024² runs
 *   4,608 tokens through 19 double + 38 single blocks (1,254 width² of block weights); these blocks are
 *   66 width², so 4,608 × 66 / 1,254 ≈ 243 tokens would give FLUX.1-dev's share; 288 gives a bit more
 *   activation per weight (it errs against bf16).
 *
 * Options (env): TESSERA_NUM_THREADS (default: all cores); BENCH_MEMORY_CASES (comma-separated case
 * names, default all: bench-model, flux-width).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FluxTransformerConfig } from '../src/runtime/checkpoint/flux-config.js';
import { type TinyFluxShape, writeTinyFlux } from '../src/runtime/launcher/demo/tiny-checkpoint.js';
import { loadTransformer } from '../src/runtime/model-loader/index.js';
import { ops, SafetensorsFile } from '../src/runtime/native/index.js';
import { writeSafetensors } from '../src/runtime/native/safetensors-writer.js';
import { logForPerson } from '../src/shared/log.js';
import { cachedFluxCheckpoint } from './support/cached-flux-checkpoint.js';
import { benchFluxConfig, fluxInputs, fluxStep, latentSide, textTokens } from './support/flux-step.js';
import { describeMachine, loadLine } from './support/machine.js';

// A person reads the tables: the JSON log goes to TESSERA_LOG_FILE, warnings to stderr.
logForPerson();
const threads = Number(process.env.TESSERA_NUM_THREADS ?? availableParallelism());

interface BenchCase {
  name: string;
  shape: TinyFluxShape;
  /** Latent side (packed image tokens = (side/2)²) and text tokens of the step. */
  side: number;
  text: number;
  /** The f32 and bf16 checkpoint folders; `scratch` is a temporary folder removed at the end. */
  folders: (scratch: string) => { f32: string; bf16: string };
}

const shapeOf = (c: FluxTransformerConfig): TinyFluxShape => ({
  heads: c.numAttentionHeads,
  headDim: c.attentionHeadDim,
  doubleBlocks: c.numLayers,
  singleBlocks: c.numSingleLayers,
  inChannels: c.inChannels,
  jointAttentionDim: c.jointAttentionDim,
  pooledProjectionDim: c.pooledProjectionDim,
  axesDimsRope: c.axesDimsRope as [number, number, number],
});

/** FLUX.1-dev's transformer config with 1 double and 2 single blocks. */
const fluxWidth: TinyFluxShape = {
  heads: 24,
  headDim: 128,
  doubleBlocks: 1,
  singleBlocks: 2,
  inChannels: 64,
  jointAttentionDim: 4096,
  pooledProjectionDim: 768,
  axesDimsRope: [16, 56, 56],
};

const cases: BenchCase[] = [
  {
    name: 'bench-model',
    shape: shapeOf(benchFluxConfig),
    side: latentSide,
    text: textTokens,
    folders: (scratch) => {
      const f32 = writeTinyFlux(join(scratch, 'f32'), shapeOf(benchFluxConfig));
      const bf16 = join(scratch, 'bf16');
      writeBf16Copy(f32, bf16);
      return { f32, bf16 };
    },
  },
  {
    name: 'flux-width',
    shape: fluxWidth,
    side: 32,
    text: 32,
    folders: () => cachedFluxCheckpoint('flux-width-1d2s', fluxWidth),
  },
];

interface ChildReport {
  /** Peak resident MiB while loading, and during the step alone (the peak is reset after the load). */
  loadPeakMiB: number;
  stepPeakMiB: number;
  heldMiB: Record<string, number>;
  stepMs: number;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/**
 * This process's peak resident set (VmHWM). Not getrusage's maxRSS: Linux carries that over from the
 * parent across fork and exec, so a child would report the parent's peak.
 */
function peakResidentMiB(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB$/m);
  if (!line) throw new Error('no VmHWM in /proc/self/status (this benchmark needs Linux)');
  return mib(Number(line[1]) * 1024);
}

/**
 * Sets VmHWM to the present resident size (Linux: "5" to /proc/self/clear_refs), so that the step's peak
 * is its own and not the load's transient one.
 */
function resetPeakResident(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

/** In the child: load `folder`, run one step of `benchCase`, report. `mode` 'addon' only loads the addon. */
async function child(mode: string, folder: string, benchCase: BenchCase): Promise<void> {
  ops.setNumThreads(threads);
  const report: ChildReport = { loadPeakMiB: 0, stepPeakMiB: 0, heldMiB: {}, stepMs: 0 };
  if (mode !== 'addon') {
    const loaded = loadTransformer(folder, mode === 'f32' ? { weightDtype: 'f32' } : {});
    if (loaded.family !== 'flux') throw new Error('expected the Flux checkpoint');
    report.loadPeakMiB = peakResidentMiB();
    for (const name of loaded.weights.names()) {
      const t = loaded.weights.get(name);
      report.heldMiB[t.dtype] = (report.heldMiB[t.dtype] ?? 0) + t.bytes / 2 ** 20;
    }
    const inputs = fluxInputs(loaded.config as FluxTransformerConfig, benchCase.side, benchCase.text);
    resetPeakResident();
    const started = performance.now();
    await fluxStep(loaded, inputs);
    report.stepMs = performance.now() - started;
  }
  report.stepPeakMiB = peakResidentMiB();
  report.loadPeakMiB ||= report.stepPeakMiB;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function measure(mode: string, folder: string, benchCase: BenchCase): ChildReport {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--child', mode, folder, benchCase.name],
    { encoding: 'utf8' },
  );
  if (run.status !== 0)
    throw new Error(`the ${benchCase.name} ${mode} child exited ${run.status}:\n${run.stderr}`);
  const last = run.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ChildReport;
}

/** A copy of the checkpoint folder with every tensor rounded to bf16 (as a bf16 release is stored). */
function writeBf16Copy(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const path = join(to, 'transformer', 'diffusion_pytorch_model.safetensors');
  const source = SafetensorsFile.open(path);
  const tensors = new Map(source.names().map((n) => [n, source.read(n).to('bf16')]));
  source.close();
  writeSafetensors(path, tensors);
}

function describeCase(c: BenchCase): string {
  const s = c.shape;
  return (
    `${c.name}: Flux ${s.doubleBlocks} double + ${s.singleBlocks} single blocks, ${s.heads} heads × ${s.headDim}, ` +
    `T5 width ${s.jointAttentionDim}, ${(c.side / 2) ** 2} image + ${c.text} text tokens`
  );
}

function runCase(c: BenchCase, scratch: string): void {
  process.stdout.write(`\n${describeCase(c)}\n`);
  const folders = c.folders(join(scratch, c.name));
  const rows: [string, ChildReport][] = [
    ['addon only (fixed part)', measure('addon', folders.f32, c)],
    ['f32 checkpoint', measure('default', folders.f32, c)],
    ['bf16 checkpoint, held bf16', measure('default', folders.bf16, c)],
    ['bf16 checkpoint, f32 at load', measure('f32', folders.bf16, c)],
  ];
  const mb = (v: number) => `${v.toFixed(1)} MiB`.padStart(13);
  process.stdout.write(
    `${'case'.padEnd(29)} ${'peak at load'.padStart(13)} ${'peak in step'.padStart(13)} ` +
      `${'weights held'.padStart(25)} ${'step'.padStart(9)}\n`,
  );
  for (const [name, r] of rows) {
    const held = Object.entries(r.heldMiB).map(([d, m]) => `${d} ${m.toFixed(1)}`);
    process.stdout.write(
      `${name.padEnd(29)} ${mb(r.loadPeakMiB)} ${mb(r.stepPeakMiB)} ` +
        `${(held.length > 0 ? `${held.join(' + ')} MiB` : '-').padStart(25)} ` +
        `${(r.stepMs > 0 ? `${r.stepMs.toFixed(0)} ms` : '-').padStart(9)}\n`,
    );
  }
  const [base, full, held] = rows.map(([, r]) => r) as [ChildReport, ChildReport, ChildReport];
  const ratio = (pick: (r: ChildReport) => number) =>
    `${(pick(held) / pick(full)).toFixed(2)} (${((pick(held) - pick(base)) / (pick(full) - pick(base))).toFixed(2)} above the addon-only process)`;
  process.stdout.write(
    `peak RSS, bf16 held / f32 checkpoint: at load ${ratio((r) => r.loadPeakMiB)}; ` +
      `in the step ${ratio((r) => r.stepPeakMiB)}\n`,
  );
}

function selectedCases(): BenchCase[] {
  const names = process.env.BENCH_MEMORY_CASES?.split(',').map((n) => n.trim()) ?? cases.map((c) => c.name);
  const unknown = names.filter((n) => !cases.some((c) => c.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_MEMORY_CASES: no case ${unknown.join(', ')}; the cases are ${cases.map((c) => c.name).join(', ')}`,
    );
  }
  return cases.filter((c) => names.includes(c.name));
}

async function main(): Promise<void> {
  const selected = selectedCases();
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-memory-'));
  try {
    process.stdout.write(
      `peak RSS of one process: load a Flux checkpoint and run one step, ${threads} thread(s)\n`,
    );
    for (const line of describeMachine([threads]).lines) process.stdout.write(`${line}\n`);
    for (const c of selected) runCase(c, scratch);
    process.stdout.write(`\n${loadLine()} (after)\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const benchCase = cases.find((c) => c.name === process.argv[childAt + 3]);
  if (!benchCase) throw new Error(`no bench case ${process.argv[childAt + 3]}`);
  await child(process.argv[childAt + 1] ?? '', process.argv[childAt + 2] ?? '', benchCase);
} else {
  await main();
}
