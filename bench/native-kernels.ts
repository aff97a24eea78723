/**
 * `npm run bench:native`: Tessera's CPU kernels against PyTorch CPU (the reference venv, from PyPI) at
 * DiT shapes, with the same thread count on both sides (TESSERA_NUM_THREADS, default: all cores).
 * Prints the CPU's features, the kernels chosen and the measured GEMM ceiling first; then GEMM GFLOP/s at
 * Flux linear shapes (f32 weights, and Tessera with the same weights in bf16) and attention time at 4,096
 * tokens × 24 heads × 128, each with the Tessera/PyTorch speed ratio (> 1: Tessera is faster) and the share
 * of the ceiling Tessera reaches. The two sides run in turn, case by case (PyTorch in a helper process
 * driven line by line), so a busy machine slows both alike; the load average is printed before and after.
 *
 * Options (env): BENCH_REPEATS (default 3), BENCH_PYTHON (a python with torch; default: the one
 * tools/reference/venv.sh prints), BENCH_SKIP_TORCH=1 (Tessera only).
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { ops, Tensor } from '../src/runtime/native/index.js';
import { logForPerson } from '../src/shared/log.js';
import { describeMachine, loadLine } from './support/machine.js';
import { randomTensor as randomTensorOf } from './support/random.js';

// A person reads the tables: the JSON log goes to TESSERA_LOG_FILE, warnings to stderr.
logForPerson();
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

/** Uniform in ±0.5. */
const randomTensor = (shape: number[]): Tensor => randomTensorOf(shape, 0.5, 12345);

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** One PyTorch helper process; `time(case)` runs a case there once and resolves with its seconds. */
class TorchSide {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];

  constructor(python: string) {
    const job = JSON.stringify({ threads, gemm: gemmShapes, attention: attentionShape });
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    this.child = spawn(python, [resolve(root, 'bench/torch-reference.py'), job], { env });
    this.child.stderr.pipe(process.stderr);
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.resolve(line));
    this.child.on('exit', (code) => {
      for (const waiter of this.pending.splice(0))
        waiter.reject(new Error(`the PyTorch helper exited with code ${code}`));
    });
  }

  private next(): Promise<string> {
    return new Promise((resolveLine, reject) => this.pending.push({ resolve: resolveLine, reject }));
  }

  async ready(): Promise<{ torch: string; threads: number }> {
    return JSON.parse(await this.next()) as { torch: string; threads: number };
  }

  async time(name: string): Promise<number> {
    const reply = this.next();
    this.child.stdin.write(`${name}\n`);
    return Number(await reply);
  }

  close(): void {
    this.child.stdin.end();
  }
}

function torchPython(): string {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  const script = resolve(root, 'tools/reference/venv.sh');
  return execFileSync(script, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

interface Case {
  name: string;
  run: () => void;
}

function tesseraCases(): Case[] {
  const cases: Case[] = gemmShapes.map(([m, k, n], i) => {
    const [x, w, b, out] = [
      randomTensor([m, k]),
      randomTensor([n, k]),
      randomTensor([n]),
      Tensor.empty([m, n]),
    ];
    return { name: `gemm:${i}`, run: () => ops.linear(x, w, b, out) };
  });
  gemmShapes.forEach(([m, k, n], i) => {
    const [x, w, b, out] = [
      randomTensor([m, k]),
      randomTensor([n, k]).to('bf16'),
      randomTensor([n]),
      Tensor.empty([m, n]),
    ];
    cases.push({ name: `gemm-bf16:${i}`, run: () => ops.linear(x, w, b, out) });
  });
  const [q, k, v] = [
    randomTensor(attentionShape),
    randomTensor(attentionShape),
    randomTensor(attentionShape),
  ];
  const out = Tensor.empty(attentionShape);
  cases.push({ name: 'attention', run: () => ops.attention(q, k, v, { out }) });
  return cases;
}

const fmt = (v: number, digits = 1): string => v.toFixed(digits).padStart(9);

async function main(): Promise<void> {
  ops.setNumThreads(threads);
  console.log(`native kernels benchmark: ${threads} threads, median of ${repeats} runs after one warm-up`);
  const machine = describeMachine([1, threads]);
  for (const line of machine.lines) console.log(line);
  const ceiling = machine.ceiling.get(threads) ?? Number.NaN;
  const torch = process.env.BENCH_SKIP_TORCH === '1' ? undefined : new TorchSide(torchPython());
  if (torch) {
    const info = await torch.ready();
    console.log(`PyTorch ${info.torch} CPU, ${info.threads} threads (runs alternate with Tessera's)`);
  }
  const ours = new Map<string, number[]>();
  const theirs = new Map<string, number[]>();
  for (const c of tesseraCases()) {
    const torchCase = c.name.startsWith('gemm-bf16') ? undefined : torch;
    c.run();
    await torchCase?.time(c.name);
    for (let r = 0; r < repeats; r++) {
      ours.set(c.name, [...(ours.get(c.name) ?? []), seconds(c.run)]);
      if (torchCase) theirs.set(c.name, [...(theirs.get(c.name) ?? []), await torchCase.time(c.name)]);
    }
  }
  torch?.close();
  const ourTime = (name: string): number => median(ours.get(name) ?? []);
  const theirTime = (name: string): number => (torch ? median(theirs.get(name) ?? []) : Number.NaN);

  console.log(
    `\nGEMM (linear x[M,K] · w[N,K]ᵀ + b), GFLOP/s; ratio = tessera / pytorch; ceiling ${ceiling.toFixed(1)} GFLOP/s`,
  );
  console.log('        M        K        N   tessera   pytorch     ratio  %ceiling  bf16 w');
  gemmShapes.forEach(([m, k, n], i) => {
    const flops = 2 * m * k * n;
    const mine = flops / ourTime(`gemm:${i}`) / 1e9;
    const other = flops / theirTime(`gemm:${i}`) / 1e9;
    const bf16 = flops / ourTime(`gemm-bf16:${i}`) / 1e9;
    console.log(
      `${fmt(m, 0)}${fmt(k, 0)}${fmt(n, 0)} ${fmt(mine)} ${fmt(other)} ${fmt(mine / other, 2)} ${fmt((100 * mine) / ceiling, 0)} ${fmt(bf16)}`,
    );
  });
  const [b, s, h, d] = attentionShape;
  const flops = 4 * b * s * s * h * d;
  const mine = ourTime('attention');
  const other = theirTime('attention');
  console.log(`\nattention [B=${b}, S=${s}, H=${h}, D=${d}]; ratio = pytorch time / tessera time`);
  console.log(`  tessera ${mine.toFixed(3)} s (${(flops / mine / 1e9).toFixed(1)} GFLOP/s)`);
  console.log(`  pytorch ${other.toFixed(3)} s (${(flops / other / 1e9).toFixed(1)} GFLOP/s)`);
  console.log(`  ratio   ${(other / mine).toFixed(2)}`);
  console.log(`\n${loadLine()} (after)`);
}

await main();
