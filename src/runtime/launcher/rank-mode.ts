/**
 * `tessera worker` inside one worker process (the launcher set TESSERA_RANK): join the group named by
 * the env contract, check the plan against the checkpoint, load this rank's weights and run the request
 * given on the command line. (Without a request, worker.ts runs the serving loop instead:
 * src/runtime/serve-loop/.)
 */
import { log } from '../../shared/log.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import type { DenoiseRequest } from '../parallel-denoise/rank-job.js';
import { runDenoiseRank } from '../parallel-denoise/rank-job.js';
import { bindAddresses } from './addresses.js';
import { EnvironmentError, integerVar, RANK_ENV, readPodEnvironment } from './env-config.js';
import { ranksOfPod, readPlanFile } from './plan-file.js';

const DEFAULT_COMM_TIMEOUT_MS = 30_000;

export type RequestFactory = (modelPath: string) => DenoiseRequest;

export async function runRankProcess(
  env: NodeJS.ProcessEnv,
  options: {
    modelPath: string | undefined;
    request: RequestFactory | undefined;
    statsDir: string | undefined;
  },
): Promise<void> {
  const pod = readPodEnvironment(env);
  const rank = integerVar(env, RANK_ENV.rank, 0);
  const plan = readPlanFile(pod.planPath);
  if (!ranksOfPod(plan, pod).some((r) => r.rank === rank)) {
    throw new EnvironmentError(
      `${RANK_ENV.rank} = ${rank} is not a rank the plan places on pod ${pod.podIndex}`,
    );
  }
  const modelPath = options.modelPath ?? pod.modelPath;
  if (!modelPath) throw new EnvironmentError(`${RUNTIME_ENV.modelPath} is not set and no --model was given`);
  const timeoutMs = integerVar(env, RANK_ENV.commTimeoutMs, 1, DEFAULT_COMM_TIMEOUT_MS);
  const logger = log.child({ component: 'worker', rank, pod: pod.podIndex, group: pod.groupName });
  const job = {
    rank,
    degrees: plan.degrees,
    pipeline: plan.pipeline,
    rendezvous: {
      host: pod.rendezvousAddress,
      port: pod.rendezvousPort,
      ...bindAddresses(pod.rendezvousAddress, env),
    },
    timeoutMs,
    logger,
    ...(options.statsDir !== undefined ? { statsDir: options.statsDir } : {}),
  };
  if (!options.request) {
    throw new EnvironmentError(
      'no request given (--inputs): runRankProcess runs one request; serving ranks start through serveRank',
    );
  }
  await runDenoiseRank(job, options.request(modelPath));
}
