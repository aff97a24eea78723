/**
 * Runs one scenario of a parallel test as N real processes on 127.0.0.1 and collects what each rank
 * prints on its `RESULT <json>` line. Every process has a hard deadline and is killed past it; none
 * outlives the test (killAll in afterEach).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { testSecretEnv } from '../../support/group-secret.js';
import { rng } from '../../support/rng.js';

export interface RankOutcome {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  result: Record<string, unknown> | undefined;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

const live = new Set<ChildProcess>();

import { freePort } from '../../../src/devcluster/ports.js';

export { freePort };

export interface SpawnSpec {
  args: string[];
  env?: Record<string, string>;
  deadlineMs: number;
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs `node <args>` and resolves with its outcome once it exits (killed at the deadline). */
export function runNode(rank: number, spec: SpawnSpec): Promise<RankOutcome> {
  const started = Date.now();
  const child = spawn(process.execPath, spec.args, {
    env: { ...process.env, TESSERA_LOG_LEVEL: 'warn', ...testSecretEnv(), ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  spec.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), spec.deadlineMs);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      const result = line ? (JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>) : undefined;
      done({ rank, code, signal, result, stderr: stderr + stdout.slice(-4000), ms: Date.now() - started });
    });
  });
}

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** max |a − b| / max |b|: the relative error the acceptance criteria state. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} differs from the expected ${expected.length}`);
  }
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  if (!Number.isFinite(diff)) return Number.POSITIVE_INFINITY;
  return diff / (scale || 1);
}

/** Deterministic values in [-1, 1), so every process builds the same inputs. */
export function seededValues(seed: number, count: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: count }, () => next() * 2 - 1);
}
