/**
 * `npm run bench:native`: Tessera's CPU kernels against PyTorch CPU (from the reference venv, PyPI) at
 * DiT shapes, with the same thread count on both sides (TESSERA_NUM_THREADS, default: all cores).
 * Prints GEMM GFLOP/s at Flux linear shapes and attention time at 4,096 tokens × 24 heads × 128, each
 * with the Tessera/PyTorch speed ratio (> 1: Tessera is faster).
 *
 * Options (env): BENCH_REPEATS (default 3), BENCH_PYTHON (a python with torch; default: the one
 * tools/reference/venv.sh prints), BENCH_SKIP_TORCH=1 (Tessera only).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ops, Tensor } from '../src/runtime/native/index.js';

interface TorchResult {
  torch: string;
  threads: number;
  gemm: number[];
  attention: number;
}

const root = resolve(import.meta.dirname, '..');
const threads = Number(process.env.TESSERA_NUM_THREADS ?? availableParallelism());
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
/** [M, K, N]: tokens × in → out. Flux: qkv/out projections 3072→3072, MLP up 3072→12288, MLP down 12288→3072. */
const gemmShapes: [number, number, number][] = [
  [4096, 3072, 3072],
  [4096, 3072, 12288],
  [4096, 12288, 3072],
];
const attentionShape: [number, number, number, number] = [1, 4096, 24, 128];

function randomTensor(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let state = 12345;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state / 2 ** 32 - 0.5;
  }
  return Tensor.fromArray(data, shape);
}

function medianSeconds(fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

function runTessera(): { gemm: number[]; attention: number } {
  ops.setNumThreads(threads);
  const gemm = gemmShapes.map(([m, k, n]) => {
    const x = randomTensor([m, k]);
    const w = randomTensor([n, k]);
    const b = randomTensor([n]);
    const out = Tensor.empty([m, n]);
    const seconds = medianSeconds(() => ops.linear(x, w, b, out));
    for (const t of [x, w, b, out]) t.release();
    return seconds;
  });
  const [q, k, v] = [
    randomTensor(attentionShape),
    randomTensor(attentionShape),
    randomTensor(attentionShape),
  ];
  const out = Tensor.empty(attentionShape);
  const attention = medianSeconds(() => ops.attention(q, k, v, { out }));
  return { gemm, attention };
}

function torchPython(): string {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  return execFileSync(resolve(root, 'tools/reference/venv.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

function runTorch(): TorchResult {
  const job = JSON.stringify({ threads, repeats, gemm: gemmShapes, attention: attentionShape });
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const output = execFileSync(torchPython(), [resolve(root, 'bench/torch-reference.py'), job], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '') as TorchResult;
}

const fmt = (v: number, digits = 1): string => v.toFixed(digits).padStart(9);

function main(): void {
  console.log(`native kernels benchmark: ${threads} threads, median of ${repeats} (after one warm-up)`);
  const ours = runTessera();
  const theirs = process.env.BENCH_SKIP_TORCH === '1' ? undefined : runTorch();
  if (theirs) console.log(`PyTorch ${theirs.torch} CPU, ${theirs.threads} threads`);
  console.log('\nGEMM (linear x[M,K] · w[N,K]ᵀ + b), GFLOP/s');
  console.log('        M        K        N   tessera   pytorch   ratio');
  gemmShapes.forEach(([m, k, n], i) => {
    const flops = 2 * m * k * n;
    const mine = flops / (ours.gemm[i] as number) / 1e9;
    const torch = theirs ? flops / (theirs.gemm[i] as number) / 1e9 : Number.NaN;
    console.log(`${fmt(m, 0)}${fmt(k, 0)}${fmt(n, 0)} ${fmt(mine)} ${fmt(torch)} ${fmt(mine / torch, 2)}`);
  });
  const [b, s, h, d] = attentionShape;
  console.log(`\nattention [B=${b}, S=${s}, H=${h}, D=${d}], seconds (ratio = pytorch time / tessera time)`);
  const torchAttention = theirs?.attention ?? Number.NaN;
  const attnFlops = 4 * b * s * s * h * d;
  console.log(
    `  tessera ${ours.attention.toFixed(3)} s (${(attnFlops / ours.attention / 1e9).toFixed(1)} GFLOP/s)`,
  );
  console.log(
    `  pytorch ${torchAttention.toFixed(3)} s (${(attnFlops / torchAttention / 1e9).toFixed(1)} GFLOP/s)`,
  );
  console.log(`  ratio   ${(torchAttention / ours.attention).toFixed(2)}`);
}

main();
