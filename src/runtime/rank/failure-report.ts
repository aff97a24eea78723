/**
 * How a rank's failure reaches its launcher. A worker's stderr goes to the pod's log (or a local group's
 * log file), where nothing reads it back; so every rank that ends on an exception — in its bootstrap,
 * the weights' load, a step or a collective, whatever the error's class, and also one nobody awaited —
 * writes one JSON record to the file the launcher named in TESSERA_RANK_FAILURE_FILE, and the launcher
 * builds its error (and the pod's termination message) from those records.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { RANK_ENV } from './env-config.js';

export interface RankFailure {
  rank: number;
  /** The error's class when it is one of JavaScript's own (TypeError, RangeError, …): a bug, not input. */
  kind: string | undefined;
  reason: string;
  /** The messages of the error's causes, outermost first. */
  causes: string[];
}

/** JavaScript's own classes: their name tells a programming error from a reason the rank gave. */
const BUILT_IN = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'EvalError',
  'URIError',
]);

export function rankFailureOf(rank: number, err: unknown): RankFailure {
  if (!(err instanceof Error)) return { rank, kind: undefined, reason: String(err), causes: [] };
  const causes: string[] = [];
  for (let c = err.cause; c !== undefined && c !== null; c = c instanceof Error ? c.cause : undefined) {
    causes.push(c instanceof Error ? c.message : String(c));
  }
  return { rank, kind: BUILT_IN.has(err.name) ? err.name : undefined, reason: err.message, causes };
}

/** One line: `rank 1: TypeError: … ; caused by: …`. */
export function describeRankFailure(f: RankFailure): string {
  const causes = f.causes.map((c) => `; caused by: ${c}`).join('');
  return `rank ${f.rank}: ${f.kind ? `${f.kind}: ` : ''}${f.reason}${causes}`;
}

/**
 * Ends the rank's part of a failure: the record for the launcher (when it named a file), and the
 * reason with its causes on stderr — with the stack for a programming error. Returns the exit code.
 */
export function reportRankFailure(env: NodeJS.ProcessEnv, err: unknown): number {
  const rank = Number(env[RANK_ENV.rank] ?? -1);
  const failure = rankFailureOf(rank, err);
  const file = env[RANK_ENV.failureFile];
  if (file) {
    try {
      writeFileSync(file, JSON.stringify(failure));
    } catch (writeErr) {
      process.stderr.write(`tessera worker: cannot tell the launcher why: ${(writeErr as Error).message}\n`);
    }
  }
  const detail = failure.kind && err instanceof Error && err.stack ? `${err.stack}\n` : '';
  process.stderr.write(
    `tessera worker: ${failure.kind ? `${failure.kind}: ` : ''}${failure.reason}\n` +
      failure.causes.map((c) => `  caused by: ${c}\n`).join('') +
      detail,
  );
  return 1;
}

/**
 * An exception nobody awaits (a rejected completion, a throw in a callback) ends the rank the same way,
 * instead of Node's default crash, which prints a stack the launcher never reads.
 */
export function reportUncaughtFailures(env: NodeJS.ProcessEnv): void {
  const end = (err: unknown) => process.exit(reportRankFailure(env, err));
  process.on('uncaughtException', end);
  process.on('unhandledRejection', end);
}

/** The record a worker left, or undefined when it left none (killed, crashed in native code). */
export function readRankFailure(path: string, rank: number): RankFailure | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<RankFailure>;
    if (typeof value.reason !== 'string') return undefined;
    return {
      rank,
      kind: typeof value.kind === 'string' ? value.kind : undefined,
      reason: value.reason,
      causes: Array.isArray(value.causes) ? value.causes.filter((c) => typeof c === 'string') : [],
    };
  } catch {
    // A rank killed while writing leaves a partial record: say what the file holds rather than nothing.
    return text.trim() ? { rank, kind: undefined, reason: text.trim().slice(0, 500), causes: [] } : undefined;
  }
}
