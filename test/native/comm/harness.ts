/**
 * Runs a comm scenario as N real processes on 127.0.0.1 (test/native/comm/worker.ts) and collects what
 * each rank reports. Every process is bounded by a deadline and killed if it outlives it; none is left
 * behind (killAll in afterEach).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { testSecretEnv } from '../../support/group-secret.js';

const WORKER = resolve(import.meta.dirname, 'worker.ts');

export interface RankOutcome {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The JSON the worker printed on its RESULT line, if any. */
  result: Record<string, unknown> | undefined;
  stderr: string;
}

const live = new Set<ChildProcess>();

import { freePort } from '../../../src/devcluster/ports.js';

export { freePort };

export interface RunOptions {
  scenario: string;
  /** The script each rank runs (same arguments as worker.ts); worker.ts when omitted. */
  worker?: string;
  size: number;
  /** Hard bound for the whole run; processes still alive then are killed and reported as such. */
  deadlineMs: number;
  env?: Record<string, string>;
  /** Called with each child as it starts (e.g. to kill one mid-run). */
  onSpawn?: (rank: number, child: ChildProcess) => void;
}

export async function runRanks(options: RunOptions): Promise<RankOutcome[]> {
  const port = await freePort();
  const runs = Array.from({ length: options.size }, (_, rank) => runRank(rank, port, options));
  return Promise.all(runs);
}

function runRank(rank: number, port: number, options: RunOptions): Promise<RankOutcome> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      options.worker ?? WORKER,
      options.scenario,
      String(rank),
      String(options.size),
      String(port),
    ],
    {
      env: { ...process.env, TESSERA_LOG_LEVEL: 'warn', ...testSecretEnv(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  live.add(child);
  options.onSpawn?.(rank, child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.deadlineMs);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      const result = line ? (JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>) : undefined;
      done({ rank, code, signal, result, stderr });
    });
  });
}

/** Kills every worker still running (test cleanup). */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** Throws with every rank's stderr when a rank did not exit cleanly with a result. */
export function expectAllOk(outcomes: RankOutcome[]): Record<string, unknown>[] {
  const bad = outcomes.filter((o) => o.code !== 0 || !o.result);
  if (bad.length > 0) {
    const detail = bad
      .map((o) => `rank ${o.rank}: code ${o.code} signal ${o.signal}\n${o.stderr}`)
      .join('\n---\n');
    throw new Error(`ranks failed:\n${detail}`);
  }
  return outcomes.map((o) => o.result as Record<string, unknown>);
}
