/**
 * The step benchmark of scripts/gpu-check: one forward of a FLUX.1-dev-width transformer (hidden 3072 =
 * 24 heads × 128, T5 width 4096, pooled 768, guidance embedding) over 4,096 image + 512 text tokens,
 * batch 1, random bf16 weights on the GPU, a few double and single blocks — Tessera against diffusers'
 * FluxTransformer2DModel in bf16 eager on the same GPU in the same run (tools/gpu/diffusers_flux_step.py).
 *
 * Both sides are timed alike: wall clock with the GPU synchronised before and after, so launch overhead
 * counts. Prints ms per step, ms per double and per single block (a pass that synchronises around each
 * block), the TFLOP/s those blocks reach (GEMMs and attention counted, 2 FLOPs per multiply-add), and the
 * ratio Tessera / diffusers (< 1: Tessera is faster; the issue's target is ≤ 1.0, stretch ≤ 0.8). Also the
 * attention path taken and the host↔device copies of a step after the first (0 expected).
 *
 * Options (env): BENCH_DOUBLE (2), BENCH_SINGLE (4), BENCH_WARMUP (2), BENCH_RUNS (5), BENCH_PYTHON
 * (python3; needs torch with CUDA and diffusers), BENCH_SKIP_DIFFUSERS=1, BENCH_SHAPE=tiny (a toy width
 * that any device runs in a second: for checking the benchmark itself, e.g. on the CUDA emulation).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { FluxTransformerConfig } from '../src/runtime/checkpoint/flux-config.js';
import { fluxManifest } from '../src/runtime/checkpoint/flux-manifest.js';
import { allTensors } from '../src/runtime/checkpoint/manifest.js';
import { localAttention } from '../src/runtime/models/common/attention.js';
import { WeightMap } from '../src/runtime/models/common/weights.js';
import { imageIds, textIds } from '../src/runtime/models/flux/packing.js';
import { releaseState } from '../src/runtime/models/flux/state.js';
import { type FluxInputs, FluxTransformer } from '../src/runtime/models/flux/transformer.js';
import {
  attentionFallbackReason,
  cudaStatus,
  ops,
  synchronizeCuda,
  Tensor,
  transferCounts,
} from '../src/runtime/native/index.js';
import { logForPerson } from '../src/shared/log.js';
import { blockFlops, type StepShape } from './support/flux-flops.js';

// A person reads the table: the JSON log goes to TESSERA_LOG_FILE, warnings to stderr.
logForPerson();
const root = resolve(import.meta.dirname, '..');

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be a whole number ≥ ${min}, got '${raw}'`);
  }
  return value;
}

const tiny = process.env.BENCH_SHAPE === 'tiny';
if (process.env.BENCH_SHAPE !== undefined && process.env.BENCH_SHAPE !== 'tiny') {
  throw new RangeError(`BENCH_SHAPE must be 'tiny' or unset, got '${process.env.BENCH_SHAPE}'`);
}
const double = intFromEnv('BENCH_DOUBLE', 2, 0);
const single = intFromEnv('BENCH_SINGLE', 4, 0);
const warmup = intFromEnv('BENCH_WARMUP', 2, 1);
const runs = intFromEnv('BENCH_RUNS', 5, 1);
if (double + single === 0) throw new RangeError('BENCH_DOUBLE + BENCH_SINGLE must be at least 1');

const shape: StepShape = tiny
  ? { imageTokens: 16, textTokens: 8, hidden: 32, mlp: 128 }
  : { imageTokens: 4096, textTokens: 512, hidden: 3072, mlp: 12288 };
const config: FluxTransformerConfig = {
  className: 'FluxTransformer2DModel',
  patchSize: 1,
  inChannels: 64,
  outChannels: 64,
  numLayers: double,
  numSingleLayers: single,
  attentionHeadDim: tiny ? 16 : 128,
  numAttentionHeads: tiny ? 2 : 24,
  jointAttentionDim: tiny ? 32 : 4096,
  pooledProjectionDim: tiny ? 16 : 768,
  guidanceEmbeds: true,
  axesDimsRope: tiny ? [4, 6, 6] : [16, 56, 56],
};

/** Uniform values in ±1 from a fixed LCG, on the host. */
function uniform(n: number, seed: number): Float32Array {
  const data = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = (state / 2 ** 32 - 0.5) * 2;
  }
  return data;
}

/**
 * Random bf16 weights on the GPU: one pool of random values is uploaded once and every weight is a
 * scaled copy of a window of it (device to device), so building 1.2 B parameters takes seconds, not the
 * minutes of generating each on the host. Matrices get ±1/√fan_in, norm weights 1 ± 0.05, the rest ±0.05.
 */
function randomWeights(): WeightMap {
  const expected = allTensors(fluxManifest(config));
  const largest = Math.max(...expected.map((t) => t.shape.reduce((a, b) => a * b, 1)));
  const poolSize = largest + 4096;
  const host = Tensor.fromArray(uniform(poolSize, 12345), [poolSize]);
  const hostBf16 = host.to('bf16');
  const pool = hostBf16.toDevice('cuda');
  host.release();
  hostBf16.release();
  const tensors = new Map<string, Tensor>();
  expected.forEach((t, i) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const window = pool.narrow(0, (i * 997) % (poolSize - n + 1), n);
    const isNorm = /norm[^.]*\.weight$/.test(t.name) && t.shape.length === 1;
    const scale = t.shape.length === 2 ? 1 / Math.sqrt(t.shape[1] as number) : 0.05;
    const flat = ops.affine(window, scale, isNorm ? 1 : 0);
    window.release();
    tensors.set(t.name, flat.reshape(t.shape));
    flat.release();
  });
  pool.release();
  return new WeightMap(tensors, 'gpu-step bench (random bf16 weights)');
}

function deviceRandom(shapeOf: number[], seed: number): Tensor {
  const n = shapeOf.reduce((a, b) => a * b, 1);
  const host = Tensor.fromArray(uniform(n, seed), shapeOf);
  const bf16 = host.to('bf16');
  const out = bf16.toDevice('cuda');
  host.release();
  bf16.release();
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function elapsed(start: number): number {
  synchronizeCuda();
  return performance.now() - start;
}

interface TesseraFigures {
  msPerStep: number;
  msPerDoubleBlock: number | null;
  msPerSingleBlock: number | null;
  copiesAfterFirstStep: number;
  attention: string;
  outputFinite: boolean;
}

async function tesseraSide(): Promise<TesseraFigures> {
  const started = performance.now();
  const weights = randomWeights();
  const model = new FluxTransformer(config, weights);
  const side = Math.round(Math.sqrt(shape.imageTokens));
  const inputs: FluxInputs = {
    hiddenStates: deviceRandom([1, shape.imageTokens, config.inChannels], 1),
    encoderHiddenStates: deviceRandom([1, shape.textTokens, config.jointAttentionDim], 2),
    pooledProjections: deviceRandom([1, config.pooledProjectionDim], 3),
    timestep: [0.5],
    guidance: [3.5],
    // Latent pixels are twice the packed grid per side.
    imgIds: imageIds(2 * side, 2 * side),
    txtIds: textIds(shape.textTokens),
  };
  synchronizeCuda();
  console.log(
    `tessera: weights and inputs on the GPU in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  for (let i = 0; i < warmup; i++) (await model.forward(inputs)).release();
  const before = transferCounts();
  const steps: number[] = [];
  let out: Tensor | undefined;
  for (let i = 0; i < runs; i++) {
    out?.release();
    synchronizeCuda();
    const t0 = performance.now();
    out = await model.forward(inputs);
    steps.push(elapsed(t0));
  }
  const after = transferCounts();
  const values = (out as Tensor).toFloat32Array();
  out?.release();

  const perKind: Record<'double' | 'single', number[]> = { double: [], single: [] };
  for (let r = 0; r < runs; r++) {
    const state = model.embed(inputs);
    for (let b = 0; b < double + single; b++) {
      synchronizeCuda();
      const t0 = performance.now();
      await model.runBlocks(state, { fromBlock: b, toBlock: b + 1 }, localAttention);
      perKind[b < double ? 'double' : 'single'].push(elapsed(t0));
    }
    model.head(state).release();
    releaseState(state);
  }
  return {
    msPerStep: median(steps),
    msPerDoubleBlock: perKind.double.length ? median(perKind.double) : null,
    msPerSingleBlock: perKind.single.length ? median(perKind.single) : null,
    copiesAfterFirstStep: after.hostToDevice - before.hostToDevice + after.deviceToHost - before.deviceToHost,
    attention:
      attentionFallbackReason() === ''
        ? 'cuDNN flash attention'
        : `own kernel (${attentionFallbackReason()})`,
    outputFinite: values.every(Number.isFinite),
  };
}

interface DiffusersFigures {
  msPerStep: number;
  msPerDoubleBlock: number | null;
  msPerSingleBlock: number | null;
  torch: string;
  diffusers: string;
  gpu: string;
  outputFinite: boolean;
}

function diffusersSide(): DiffusersFigures | string {
  if (process.env.BENCH_SKIP_DIFFUSERS === '1') return 'skipped (BENCH_SKIP_DIFFUSERS=1)';
  if (tiny) return 'skipped (BENCH_SHAPE=tiny has no diffusers counterpart)';
  const python = process.env.BENCH_PYTHON ?? 'python3';
  const args = [double, single, shape.imageTokens, shape.textTokens, warmup, runs].map(String);
  try {
    const out = execFileSync(python, [resolve(root, 'tools/gpu/diffusers_flux_step.py'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    const line = out.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as DiffusersFigures;
  } catch (error) {
    return `failed: ${(error as Error).message.split('\n')[0]}`;
  }
}

const ms = (v: number | null) => (v === null ? '—' : `${v.toFixed(3)} ms`);
const tflops = (flops: number, v: number | null) =>
  v === null ? '—' : `${(flops / (v * 1e-3) / 1e12).toFixed(1)} TFLOP/s`;
const ratio = (a: number | null, b: number | null) =>
  a === null || b === null ? '—' : `${(a / b).toFixed(2)}×`;

async function main(): Promise<void> {
  const status = cudaStatus();
  if (!status.available) {
    console.error(`gpu-step: no usable CUDA device: ${status.reason ?? 'unknown reason'}`);
    process.exit(2);
  }
  console.log(
    `gpu-step: ${status.devices[0]?.name ?? 'GPU'}; FLUX width ${shape.hidden} (${config.numAttentionHeads}×${config.attentionHeadDim}), ` +
      `${double} double + ${single} single blocks, ${shape.imageTokens} image + ${shape.textTokens} text tokens, bf16, ` +
      `${warmup} warm-up + ${runs} timed runs`,
  );
  // The reference first, in its own process: on a GPU machine lent for minutes, its figures survive a
  // Tessera side that fails or runs out of time.
  const reference = diffusersSide();
  let tessera: TesseraFigures | undefined;
  try {
    tessera = await tesseraSide();
  } catch (error) {
    console.error(
      `gpu-step: the Tessera side failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  const flops = blockFlops(shape);
  if (tessera) {
    console.log(
      `attention: ${tessera.attention}; host↔device copies in ${runs} steps after warm-up: ${tessera.copiesAfterFirstStep}`,
    );
  }
  const theirs = typeof reference === 'string' ? undefined : reference;
  const rows: [string, number | null, number | null, number | null][] = [
    ['step', tessera?.msPerStep ?? null, theirs?.msPerStep ?? null, null],
    ['double block', tessera?.msPerDoubleBlock ?? null, theirs?.msPerDoubleBlock ?? null, flops.double],
    ['single block', tessera?.msPerSingleBlock ?? null, theirs?.msPerSingleBlock ?? null, flops.single],
  ];
  if (typeof reference === 'string') console.log(`diffusers: ${reference}`);
  else console.log(`diffusers ${reference.diffusers}, torch ${reference.torch} on ${reference.gpu}`);
  for (const [name, mine, theirs, f] of rows) {
    const rate = f === null ? '' : `  ${tflops(f, mine)} vs ${tflops(f, theirs)}`;
    console.log(
      `  ${name.padEnd(13)} tessera ${ms(mine).padStart(11)}  diffusers ${ms(theirs).padStart(11)}  ratio ${ratio(mine, theirs)}${rate}`,
    );
  }
  if (!tessera) process.exit(1);
  if (!tessera.outputFinite) {
    console.error('gpu-step: the Tessera output has non-finite values');
    process.exit(1);
  }
  if (typeof reference === 'string' && reference.startsWith('failed')) process.exit(1);
}

main().catch((error: unknown) => {
  console.error(`gpu-step: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
