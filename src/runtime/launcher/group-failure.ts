/**
 * One line for a pod's workers that failed, from the records they left (rank/failure-report.ts). Ranks
 * that only saw a peer go ("rank 2 failed: …", a closed connection) are echoes, so the first rank with a
 * reason of its own is the cause; a worker that left no record (killed, crashed in native code) is named
 * with how it ended.
 */
import { describeRankFailure, type RankFailure } from '../rank/failure-report.js';

/** Reasons that only report another rank's failure. */
const ECHO = /rank \d+ failed:|communicator (closed|aborted)|closed by the peer|connection reset/i;

export interface WorkerExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `rank 1: <reason>; caused by: <cause> (1 more rank failed)`. */
export function groupFailure(failures: readonly RankFailure[], firstExit: WorkerExit | undefined): string {
  const sorted = [...failures].sort((a, b) => a.rank - b.rank);
  const cause = sorted.find((f) => !ECHO.test(f.reason)) ?? sorted[0];
  if (!cause) {
    if (!firstExit) return 'the workers ended and none said why';
    const how = firstExit.signal ? `was killed by ${firstExit.signal}` : `exited with code ${firstExit.code}`;
    return `rank ${firstExit.rank} ${how} without saying why (its log may tell)`;
  }
  const others = sorted.length - 1;
  const also = others > 0 ? ` (${others} more rank${others > 1 ? 's' : ''} failed)` : '';
  return `${describeRankFailure(cause)}${also}`;
}
