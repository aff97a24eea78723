/**
 * A process that ends while its communicators and TCP store are still open (no close()) exits with its
 * own code: the event loop draining, process.exit, after a peer died, with an operation in flight, and
 * after the communicators were garbage collected. Real processes on 127.0.0.1 (exit-worker.ts).
 * Before the fix, ending by draining with several communicators aborted (SIGABRT, exit code 134):
 * each communicator's finalizer released a ThreadSafeFunction that Node had already freed at teardown.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, type RankOutcome, runRanks } from './harness.js';

afterEach(killAll);

const WORKER = resolve(import.meta.dirname, 'exit-worker.ts');
const CRASH = /terminate called|Aborted|FATAL ERROR|Segmentation fault|core dumped|uv_mutex|Assertion/i;

function run(scenario: string): Promise<RankOutcome[]> {
  return runRanks({ scenario, size: 2, deadlineMs: 40_000, worker: WORKER });
}

function expectExit(o: RankOutcome | undefined, code: number): void {
  if (!o) throw new Error('missing rank');
  const detail = `rank ${o.rank}: code ${o.code} signal ${o.signal}\n${o.stderr}`;
  expect(o.result, detail).toBeDefined();
  expect(o.signal, detail).toBeNull();
  expect(o.code, detail).toBe(code);
  expect(o.stderr).not.toMatch(CRASH);
}

describe('a process exits with its own code while communicators and the store are open', () => {
  const cases: Array<[string, string, number]> = [
    ['the event loop drains', 'drain', 0],
    ['the event loop drains with process.exitCode set', 'drainWithCode', 3],
    ['process.exit(0)', 'exit', 0],
    ['process.exit(5)', 'exitWithCode', 5],
    ['process.exit(6) with a recv in flight', 'exitWithPendingRecv', 6],
    ['the communicators were garbage collected first', 'collected', 7],
  ];
  for (const [name, scenario, code] of cases) {
    it(name, async () => {
      const outcomes = await run(scenario);
      for (const o of outcomes) expectExit(o, code);
    });
  }

  for (const [name, scenario] of [
    ['the event loop drains', 'peerDiedDrain'],
    ['process.exit(4)', 'peerDiedExit'],
  ] as const) {
    it(`after a peer died and the communicator was torn down: ${name}`, async () => {
      const [survivor, dead] = await run(scenario);
      expect(dead?.signal).toBe('SIGKILL');
      expectExit(survivor, 4);
      expect(survivor?.result?.afterDeath as string).toMatch(/allReduce .* failed/);
      expect(survivor?.result?.failure as string).toMatch(/gloo/);
    });
  }
});
