/**
 * The one place a rank starts, whether it runs one request (`tessera worker --inputs`, the local group of
 * `tessera denoise`) or serves (the operator's pods): read the env contract and the plan, find this
 * rank's place, choose and bind its device and pick the communicators' backend, check that the device is
 * usable and that the plan fits the checkpoint — all before any rendezvous or weight. Every problem is an
 * EnvironmentError (or PlanFileError / PlanMismatchError) with one line naming the cause.
 */

import type { ModelDType } from '../../shared/api/v1alpha1/model.js';
import { type Logger, log } from '../../shared/log.js';
import type { Plan } from '../../shared/plan/index.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import type { Backend } from '../comm/index.js';
import {
  type Architecture,
  architectureOf,
  readTransformerConfig,
  type TransformerConfig,
} from '../families/index.js';
import { requestedModelDtype } from '../model-loader/index.js';
import { bindCudaDevice } from '../native/index.js';
import { checkDegreesFitModel, PlanMismatchError } from '../parallel-denoise/checkpoint-fit.js';
import { joinGroup, type ParallelGroup } from '../rendezvous/group.js';
import { readSchedulerConfig, type SchedulerConfig } from '../scheduler/scheduler.js';
import { bindAddresses } from './addresses.js';
import {
  backendFor,
  bindDevice,
  type DeviceRequest,
  type RankDevice,
  rankDevice,
  rankGpuRequirement,
} from './device.js';
import {
  EnvironmentError,
  integerVar,
  type PodEnvironment,
  RANK_ENV,
  readPodEnvironment,
} from './env-config.js';
import { requireGpus } from './gpu-check.js';
import { ranksOfPod, readPlanFile } from './plan-file.js';

const DEFAULT_COMM_TIMEOUT_MS = 30_000;

export interface RankSetup {
  env: NodeJS.ProcessEnv;
  pod: PodEnvironment;
  rank: number;
  localRank: number;
  plan: Plan;
  /** Bound before anything touched CUDA. */
  device: RankDevice;
  backend: Backend;
  modelPath: string;
  config: TransformerConfig;
  /** The checkpoint's architecture (of the plan's family, checked). */
  arch: Architecture;
  scheduler: SchedulerConfig;
  /** TESSERA_MODEL_DTYPE, when set: the weights' dtype the operator asks for (the loader decides with it). */
  modelDtype: ModelDType | undefined;
  /** Bound on the rendezvous and every collective. */
  timeoutMs: number;
  addresses: { storeListenHost: string; listenHost: string };
  logger: Logger;
}

export interface BootstrapOptions {
  /** `--model`; default: TESSERA_MODEL_PATH. */
  modelPath: string | undefined;
  /** `--device`. */
  device: DeviceRequest;
  /** Names the rank's log lines ('worker' for one request, 'serve-loop' when serving). */
  component: string;
}

export function bootstrapRank(env: NodeJS.ProcessEnv, options: BootstrapOptions): RankSetup {
  const pod = readPodEnvironment(env);
  const rank = integerVar(env, RANK_ENV.rank, 0);
  const plan = readPlanFile(pod.planPath);
  const placements = ranksOfPod(plan, pod);
  const placement = placements.find((r) => r.rank === rank);
  if (!placement) {
    throw new EnvironmentError(
      `${RANK_ENV.rank} = ${rank} is not a rank the plan places on pod ${pod.podIndex}`,
    );
  }
  const device = rankDevice(options.device, plan, placement.localRank, placements.length);
  bindDevice(device, env);
  requireGpus(rankGpuRequirement(device, plan), `rank ${rank} (${device.label})`);
  // The one visible GPU is device 0: kernels, tensors and NCCL all use it from here on.
  if (device.kind === 'cuda') bindCudaDevice(0);
  const modelPath = options.modelPath ?? pod.modelPath;
  if (!modelPath) throw new EnvironmentError(`${RUNTIME_ENV.modelPath} is not set and no --model was given`);
  const config = readTransformerConfig(modelPath);
  const arch = architectureOf(config);
  const { facts } = arch;
  if (plan.model.family !== facts.family) {
    throw new PlanMismatchError(
      `the plan is for a ${plan.model.family} model but the checkpoint at ${modelPath} is ${facts.family}`,
    );
  }
  checkDegreesFitModel(plan.degrees, facts, plan.pipeline);
  const backend = backendFor(device);
  return {
    env,
    pod,
    rank,
    localRank: placement.localRank,
    plan,
    device,
    backend,
    modelPath,
    config,
    arch,
    scheduler: readSchedulerConfig(modelPath),
    modelDtype: modelDtypeOf(env),
    timeoutMs: integerVar(env, RANK_ENV.commTimeoutMs, 1, DEFAULT_COMM_TIMEOUT_MS),
    addresses: bindAddresses(pod.rendezvousAddress, env),
    logger: log.child({
      component: options.component,
      rank,
      pod: pod.podIndex,
      group: pod.groupName,
      device: device.label,
      backend,
    }),
  };
}

function modelDtypeOf(env: NodeJS.ProcessEnv): ModelDType | undefined {
  try {
    return requestedModelDtype(env[RUNTIME_ENV.modelDtype]);
  } catch (err) {
    throw new EnvironmentError((err as Error).message, { cause: err });
  }
}

/** Joins the group named by the env contract: rendezvous, then the communicators on this rank's device. */
export function joinRankGroup(setup: RankSetup): Promise<ParallelGroup> {
  return joinGroup({
    host: setup.pod.rendezvousAddress,
    port: setup.pod.rendezvousPort,
    rank: setup.rank,
    degrees: setup.plan.degrees,
    backend: setup.backend,
    timeoutMs: setup.timeoutMs,
    logger: setup.logger,
    storeListenHost: setup.addresses.storeListenHost,
    listenHost: setup.addresses.listenHost,
    // The bound GPU is device 0 of this process (bindDevice narrowed CUDA_VISIBLE_DEVICES).
    ...(setup.device.kind === 'cuda' ? { cudaDevice: 0 } : {}),
  });
}
