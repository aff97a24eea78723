/**
 * `tessera worker` in a serving rank process (the launcher set TESSERA_RANK and gave no request): the
 * long-running loop of one rank. Rank 0 leads and serves HTTP; every other rank follows its broadcasts.
 * Resolves with the process's exit code; the caller exits explicitly (see worker.ts).
 */
import { bootstrapRank } from '../rank/bootstrap.js';
import type { DeviceRequest } from '../rank/device.js';
import { serveAsFollower } from './serve-follower.js';
import { serveAsLeader } from './serve-leader.js';

export async function serveRank(
  env: NodeJS.ProcessEnv,
  options: { modelPath: string | undefined; device: DeviceRequest },
): Promise<number> {
  const setup = bootstrapRank(env, { ...options, component: 'serve-loop' });
  // A rank whose launcher is gone (killed, or the pod torn down) must not linger on its own.
  if (process.connected) {
    process.once('disconnect', () => {
      setup.logger.error('the launcher is gone; exiting');
      process.exit(1);
    });
  }
  setup.logger.info({ degrees: setup.plan.degrees, timeoutMs: setup.timeoutMs }, 'serving rank starting');
  return setup.rank === 0 ? serveAsLeader(setup) : serveAsFollower(setup);
}
