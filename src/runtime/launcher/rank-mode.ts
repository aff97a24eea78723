/**
 * `tessera worker` inside one worker process (the launcher set TESSERA_RANK) with a request on the
 * command line: the rank's bootstrap (src/runtime/rank/), then the request. (Without a request, worker.ts
 * runs the serving loop instead: src/runtime/serve-loop/.)
 */
import { type DenoiseRequest, runDenoiseRank } from '../parallel-denoise/rank-job.js';
import { bootstrapRank } from '../rank/bootstrap.js';
import type { DeviceRequest } from '../rank/device.js';

export async function runRankProcess(
  env: NodeJS.ProcessEnv,
  options: {
    modelPath: string | undefined;
    device: DeviceRequest;
    request: DenoiseRequest;
    statsDir: string | undefined;
  },
): Promise<void> {
  const setup = bootstrapRank(env, {
    modelPath: options.modelPath,
    device: options.device,
    component: 'worker',
  });
  await runDenoiseRank(setup, options.request, options.statsDir);
}
