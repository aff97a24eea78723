/**
 * One readable line for a local group that failed, from its log folder: every rank that failed printed
 * `tessera worker: <reason>` on stderr (reportFailure); ranks that only saw a peer go ("rank 2 failed:
 * …", a closed connection) are echoes, so the first rank with a reason of its own is the cause.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FAILURE_PREFIX = 'tessera worker: ';
/** Reasons that only report another rank's failure. */
const ECHO = /rank \d+ failed:|communicator (closed|aborted)|closed by the peer|connection reset/i;

interface RankReason {
  rank: number;
  reason: string;
}

function reasonsIn(logDir: string): RankReason[] {
  const reasons: RankReason[] = [];
  for (const name of readdirSync(logDir)) {
    const rank = /^rank-(\d+)\.log$/.exec(name)?.[1];
    if (rank === undefined) continue;
    const line = readFileSync(join(logDir, name), 'utf8')
      .split('\n')
      .find((l) => l.startsWith(FAILURE_PREFIX));
    if (line) reasons.push({ rank: Number(rank), reason: line.slice(FAILURE_PREFIX.length) });
  }
  return reasons.sort((a, b) => a.rank - b.rank);
}

export function groupFailure(logDir: string, code: number): string {
  const reasons = reasonsIn(logDir);
  const cause = reasons.find((r) => !ECHO.test(r.reason)) ?? reasons[0];
  const where = `logs in ${logDir}`;
  if (!cause) return `the group failed with exit code ${code} and no rank said why (${where})`;
  const others = reasons.length - 1;
  const also = others > 0 ? `${others} more rank${others > 1 ? 's' : ''} failed; ` : '';
  return `the group failed: rank ${cause.rank}: ${cause.reason} (${also}${where})`;
}
