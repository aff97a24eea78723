/**
 * Everything a serving rank reads before it starts: the env contract, its place in the plan, the
 * checkpoint's config and scheduler, and where it binds. Problems throw EnvironmentError naming the cause.
 */
import { type Logger, log } from '../../shared/log.js';
import type { Plan } from '../../shared/plan/index.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import { readTransformerConfig, type TransformerConfig } from '../checkpoint/index.js';
import { readSchedulerConfig } from '../denoise/input-files.js';
import { bindAddresses } from '../launcher/addresses.js';
import {
  EnvironmentError,
  integerVar,
  type PodEnvironment,
  RANK_ENV,
  readPodEnvironment,
} from '../launcher/env-config.js';
import { ranksOfPod, readPlanFile } from '../launcher/plan-file.js';
import { checkDegreesFitModel, checkpointFacts } from '../parallel-denoise/checkpoint-fit.js';
import type { FlowMatchEulerConfig } from '../scheduler/flow-match-config.js';

const DEFAULT_COMM_TIMEOUT_MS = 30_000;

export interface RankSetup {
  env: NodeJS.ProcessEnv;
  pod: PodEnvironment;
  rank: number;
  plan: Plan;
  /** The families the runtime's denoiser runs. */
  family: 'flux' | 'sd3';
  modelPath: string;
  config: TransformerConfig;
  scheduler: FlowMatchEulerConfig;
  /** Bound on the rendezvous and every collective. */
  timeoutMs: number;
  addresses: { storeListenHost: string; listenHost: string };
  logger: Logger;
}

export function readRankSetup(env: NodeJS.ProcessEnv, modelOverride: string | undefined): RankSetup {
  const pod = readPodEnvironment(env);
  const rank = integerVar(env, RANK_ENV.rank, 0);
  const plan = readPlanFile(pod.planPath);
  if (!ranksOfPod(plan, pod).some((r) => r.rank === rank)) {
    throw new EnvironmentError(
      `${RANK_ENV.rank} = ${rank} is not a rank the plan places on pod ${pod.podIndex}`,
    );
  }
  const family = plan.model.family;
  if (family !== 'flux' && family !== 'sd3') {
    throw new EnvironmentError(`the plan is for a ${family} model; the runtime serves flux and sd3`);
  }
  const modelPath = modelOverride ?? pod.modelPath;
  if (!modelPath) throw new EnvironmentError(`${RUNTIME_ENV.modelPath} is not set and no --model was given`);
  const config = readTransformerConfig(modelPath);
  checkDegreesFitModel(plan.degrees, checkpointFacts(config), plan.pipeline);
  return {
    env,
    pod,
    rank,
    plan,
    family,
    modelPath,
    config,
    scheduler: readSchedulerConfig(modelPath),
    timeoutMs: integerVar(env, RANK_ENV.commTimeoutMs, 1, DEFAULT_COMM_TIMEOUT_MS),
    addresses: bindAddresses(pod.rendezvousAddress, env),
    logger: log.child({ component: 'serve-loop', rank, pod: pod.podIndex, group: pod.groupName }),
  };
}
