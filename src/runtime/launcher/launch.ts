/**
 * `tessera worker` in launcher mode: read the env contract and the plan, start one worker process per
 * rank the plan gives this pod (one per GPU; in CPU mode one per rank), and supervise them.
 */
import { log } from '../../shared/log.js';
import { readTransformerConfig } from '../checkpoint/index.js';
import { checkDegreesFitModel, checkpointFacts } from '../parallel-denoise/checkpoint-fit.js';
import { type PodEnvironment, RANK_ENV, readPodEnvironment } from './env-config.js';
import { ranksOfPod, readPlanFile } from './plan-file.js';
import { superviseWorkers, type WorkerSpec } from './supervisor.js';

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  /** How a worker process is started: the same program, in rank mode, with these arguments. */
  workerCommand: string;
  workerArgs: readonly string[];
  graceMs?: number;
}

export function workerSpecs(pod: PodEnvironment, options: LaunchOptions): WorkerSpec[] {
  const plan = readPlanFile(pod.planPath);
  // A plan that cannot fit the mounted checkpoint fails here, once per pod, before any worker starts
  // (every worker checks again, for a launcher bypassed by hand).
  if (pod.modelPath) {
    checkDegreesFitModel(plan.degrees, checkpointFacts(readTransformerConfig(pod.modelPath)), plan.pipeline);
  }
  return ranksOfPod(plan, pod).map((placement) => ({
    rank: placement.rank,
    localRank: placement.localRank,
    command: options.workerCommand,
    args: options.workerArgs,
    env: {
      ...options.env,
      [RANK_ENV.rank]: String(placement.rank),
      [RANK_ENV.localRank]: String(placement.localRank),
    },
  }));
}

export async function launchPod(options: LaunchOptions): Promise<number> {
  const pod = readPodEnvironment(options.env);
  const logger = log.child({ component: 'launcher', pod: pod.podIndex, group: pod.groupName });
  const specs = workerSpecs(pod, options);
  logger.info({ ranks: specs.map((s) => s.rank), plan: pod.planPath }, 'starting workers');
  return superviseWorkers(specs, { graceMs: options.graceMs ?? 10_000, logger });
}
