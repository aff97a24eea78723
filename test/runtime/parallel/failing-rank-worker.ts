/**
 * A worker process for rank-failure.test.ts: it ends the way `tessera worker` ends a rank
 * (rank/failure-report.ts), with the failure the test names in FAILING_RANK_MODE on the rank in
 * FAILING_RANK; every other rank waits until the launcher stops it.
 */
import { RANK_ENV } from '../../../src/runtime/rank/env-config.js';
import { reportRankFailure, reportUncaughtFailures } from '../../../src/runtime/rank/failure-report.js';

const rank = Number(process.env[RANK_ENV.rank]);
reportUncaughtFailures(process.env);

async function run(): Promise<void> {
  if (rank !== Number(process.env.FAILING_RANK)) {
    await new Promise((done) => setTimeout(done, 60_000));
    return;
  }
  const cause = new Error('connect ECONNREFUSED 127.0.0.1:1', {
    cause: new Error('the peer is not listening'),
  });
  if (process.env.FAILING_RANK_MODE === 'unawaited') {
    // A rejection nobody awaits, as a collective's completion left on a clock would be.
    void Promise.reject(new RangeError('step 1: offset 96 is past the 64-byte message', { cause }));
    await new Promise((done) => setTimeout(done, 60_000));
    return;
  }
  await new Promise((done) => setTimeout(done, 100));
  throw new TypeError("scaledAdd y: expected a 'cuda' tensor, got one on 'cpu'", { cause });
}

run().then(
  () => process.exit(0),
  (err: unknown) => process.exit(reportRankFailure(process.env, err)),
);
