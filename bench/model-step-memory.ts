/**
 * `npm run bench:model-memory`: the peak resident memory (VmHWM) of a fresh process that loads a Flux
 * checkpoint with the model loader and runs one denoising step, for the same weights stored in f32 and in
 * bf16. The bf16 checkpoint runs twice: as the loader holds it by default (weight matrices stay bf16,
 * widened while the GEMM packs them) and converted to f32 at load (weightDtype 'f32', what the CPU
 * path did before). A process that only loads the addon gives the fixed part of the footprint.
 * Config: bench:model's (4 double + 8 single blocks, 8 heads × 64, T5 width 4096, 1,024 image + 128 text
 * tokens), about 71 M parameters; checkpoints are written to a temporary folder and removed.
 *
 * Options (env): TESSERA_NUM_THREADS (default: all cores).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TinyFluxShape, writeTinyFlux } from '../src/runtime/launcher/demo/tiny-checkpoint.js';
import { loadTransformer } from '../src/runtime/model-loader/index.js';
import { ops, SafetensorsFile } from '../src/runtime/native/index.js';
import { writeSafetensors } from '../src/runtime/native/safetensors-writer.js';
import { logForPerson } from '../src/shared/log.js';
import { benchFluxConfig, benchFluxInputs, describeBenchFlux, fluxStep } from './support/flux-step.js';
import { describeMachine, loadLine } from './support/machine.js';

// A person reads the tables: the JSON log goes to TESSERA_LOG_FILE, warnings to stderr.
logForPerson();
const threads = Number(process.env.TESSERA_NUM_THREADS ?? availableParallelism());
const config = benchFluxConfig;
const shape: TinyFluxShape = {
  heads: config.numAttentionHeads,
  headDim: config.attentionHeadDim,
  doubleBlocks: config.numLayers,
  singleBlocks: config.numSingleLayers,
  inChannels: config.inChannels,
  jointAttentionDim: config.jointAttentionDim,
  pooledProjectionDim: config.pooledProjectionDim,
  axesDimsRope: config.axesDimsRope as [number, number, number],
};

interface ChildReport {
  /** Peak resident MiB once the weights are loaded, and after one step. */
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

/** In the child: load `folder`, run one step, report. `mode` 'addon' only loads the native addon. */
async function child(mode: string, folder: string): Promise<void> {
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
    const inputs = benchFluxInputs();
    const started = performance.now();
    await fluxStep(loaded, inputs);
    report.stepMs = performance.now() - started;
  }
  report.stepPeakMiB = peakResidentMiB();
  report.loadPeakMiB ||= report.stepPeakMiB;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function measure(mode: string, folder: string): ChildReport {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--child', mode, folder],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`the ${mode} child exited ${run.status}:\n${run.stderr}`);
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-memory-'));
  try {
    process.stdout.write(
      `peak RSS of one process: load a Flux checkpoint and run one step (${describeBenchFlux()}, T5 width ` +
        `${config.jointAttentionDim}), ${threads} thread(s)\n`,
    );
    for (const line of describeMachine([threads]).lines) process.stdout.write(`${line}\n`);
    const f32 = writeTinyFlux(join(dir, 'f32'), shape);
    const bf16 = join(dir, 'bf16');
    writeBf16Copy(f32, bf16);
    const rows: [string, ChildReport][] = [
      ['addon only (fixed part)', measure('addon', f32)],
      ['f32 checkpoint', measure('default', f32)],
      ['bf16 checkpoint, held bf16', measure('default', bf16)],
      ['bf16 checkpoint, f32 at load', measure('f32', bf16)],
    ];
    const mb = (v: number) => `${v.toFixed(1)} MiB`.padStart(13);
    process.stdout.write(
      `\n${'case'.padEnd(29)} ${'peak at load'.padStart(13)} ${'+ one step'.padStart(13)} ` +
        `${'weights held'.padStart(25)} ${'step'.padStart(8)}\n`,
    );
    for (const [name, r] of rows) {
      const held = Object.entries(r.heldMiB).map(([d, m]) => `${d} ${m.toFixed(1)}`);
      process.stdout.write(
        `${name.padEnd(29)} ${mb(r.loadPeakMiB)} ${mb(r.stepPeakMiB)} ` +
          `${(held.length > 0 ? `${held.join(' + ')} MiB` : '-').padStart(25)} ` +
          `${(r.stepMs > 0 ? `${r.stepMs.toFixed(0)} ms` : '-').padStart(8)}\n`,
      );
    }
    const [base, full, held] = rows.map(([, r]) => r) as [ChildReport, ChildReport, ChildReport];
    const ratio = (pick: (r: ChildReport) => number) =>
      `${(pick(held) / pick(full)).toFixed(2)} (${((pick(held) - pick(base)) / (pick(full) - pick(base))).toFixed(2)} above the addon-only process)`;
    process.stdout.write(
      `\npeak RSS, bf16 held / f32 checkpoint: at load ${ratio((r) => r.loadPeakMiB)}; ` +
        `with one step ${ratio((r) => r.stepPeakMiB)}\n`,
    );
    process.stdout.write(`${loadLine()} (after)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  await child(process.argv[childAt + 1] ?? '', process.argv[childAt + 2] ?? '');
} else {
  await main();
}
