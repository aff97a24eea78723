/**
 * `npm run bench:comm`: all-gather and all-to-all bandwidth between two processes on 127.0.0.1,
 * Tessera's gloo communicator against torch.distributed's gloo backend, as a ratio.
 *
 * Both sides run the same operations on the same float32 sizes for at least MIN_SECONDS each and report
 * mean seconds per operation; bandwidth is bytes moved by one rank per second (all-gather: output bytes,
 * all-to-all: buffer bytes), so the ratio does not depend on the definition. torch comes from the
 * reference venv (tools/reference/venv.sh); without it, only Tessera's numbers are printed.
 *
 * The machine is shared, so the two sides alternate for BENCH_COMM_ROUNDS rounds and each keeps its best
 * round per case: both see the same background load.
 *
 * Env: BENCH_COMM_SIZES (JSON list of bytes per rank), BENCH_COMM_MIN_SECONDS, BENCH_COMM_RANKS,
 * BENCH_COMM_ROUNDS, BENCH_COMM_PYTHON (a python with torch, instead of the reference venv).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeGroupSecretFile } from '../src/runtime/rendezvous/group-secret.js';
import { RUNTIME_ENV } from '../src/shared/runtime-contract.js';

interface Sample {
  op: string;
  bytes: number;
  seconds: number;
}

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '..');
const SIZES = JSON.parse(process.env.BENCH_COMM_SIZES ?? '[65536, 1048576, 16777216]') as number[];
const MIN_SECONDS = Number(process.env.BENCH_COMM_MIN_SECONDS ?? '1');
const RANKS = Number(process.env.BENCH_COMM_RANKS ?? '2');
const ROUNDS = Number(process.env.BENCH_COMM_ROUNDS ?? '3');

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => done(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) done(out);
      else fail(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

async function runSide(command: string, script: string[], env: NodeJS.ProcessEnv): Promise<Sample[]> {
  const port = await freePort();
  const outputs = await Promise.all(
    Array.from({ length: RANKS }, (_, rank) =>
      runProcess(
        command,
        [...script, String(rank), String(RANKS), String(port), JSON.stringify(SIZES), String(MIN_SECONDS)],
        env,
      ),
    ),
  );
  const lastLine = (outputs[0] ?? '').trim().split('\n').pop() ?? '[]';
  return JSON.parse(lastLine) as Sample[];
}

function torchPython(): string | undefined {
  if (process.env.BENCH_COMM_PYTHON) return process.env.BENCH_COMM_PYTHON;
  try {
    return execFileSync(resolve(ROOT, 'tools/reference/venv.sh'), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    console.error(`no torch reference venv (${(err as Error).message}); printing Tessera's numbers only`);
    return undefined;
  }
}

const gbps = (s: Sample) => (s.op === 'allGather' ? s.bytes * RANKS : s.bytes) / s.seconds / 1e9;
const human = (bytes: number) => (bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`);

/** Keeps the fastest sample of each (op, bytes) over all rounds. */
function best(rounds: Sample[][]): Sample[] {
  const byCase = new Map<string, Sample>();
  for (const s of rounds.flat()) {
    const key = `${s.op}/${s.bytes}`;
    const seen = byCase.get(key);
    if (!seen || s.seconds < seen.seconds) byCase.set(key, s);
  }
  return [...byCase.values()];
}

async function main(): Promise<void> {
  // The ranks authenticate with a group secret, as a pod's do (a fresh one in a private temp folder).
  const secretDir = mkdtempSync(join(tmpdir(), 'tessera-bench-comm-'));
  process.once('exit', () => rmSync(secretDir, { recursive: true, force: true }));
  const env = {
    ...process.env,
    TESSERA_LOG_LEVEL: 'warn',
    GLOO_SOCKET_IFNAME: 'lo',
    OMP_NUM_THREADS: '1',
    [RUNTIME_ENV.groupSecretFile]: writeGroupSecretFile(secretDir),
  };
  const python = torchPython();
  const tesseraRounds: Sample[][] = [];
  const torchRounds: Sample[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    tesseraRounds.push(
      await runSide(process.execPath, ['--import', 'tsx', resolve(HERE, 'comm-rank.ts')], env),
    );
    if (python) torchRounds.push(await runSide(python, [resolve(HERE, 'comm_torch.py')], env));
  }
  const tessera = best(tesseraRounds);
  const torch = best(torchRounds);
  console.log(
    `\nbench:comm — ${RANKS} processes on 127.0.0.1, float32, ≥${MIN_SECONDS} s per case, best of ${ROUNDS} alternating rounds`,
  );
  console.log('GB/s = 1e9 bytes per second per rank (all-gather: output bytes, all-to-all: buffer bytes)');
  console.log('op         size      tessera GB/s  torch GB/s  ratio   tessera ms  torch ms');
  for (const t of tessera) {
    const p = torch.find((s) => s.op === t.op && s.bytes === t.bytes);
    const cols = [
      t.op.padEnd(10),
      human(t.bytes).padEnd(9),
      gbps(t).toFixed(3).padStart(12),
      (p ? gbps(p).toFixed(3) : '-').padStart(10),
      (p ? (gbps(t) / gbps(p)).toFixed(2) : '-').padStart(6),
      (t.seconds * 1e3).toFixed(3).padStart(11),
      (p ? (p.seconds * 1e3).toFixed(3) : '-').padStart(9),
    ];
    console.log(cols.join('  '));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
